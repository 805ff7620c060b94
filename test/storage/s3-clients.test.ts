// Real clients on S3 storage, exactly as on local disk: OpenSSH sftp, lftp and curl (FTPS) move
// 0-byte, small and 20 MiB files through a server whose storage is an s3rver bucket (behind the
// fault proxy), verified by hash, and a client killed in mid-upload leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { BUCKET, CREDENTIALS, startS3, type S3Fixture } from './s3-server.ts';
import { MiB, randomFile, run, sha256File } from '../ftps/helpers.ts';
import { PASSWORD, requireBinary, sftpBatch, SSH_OPTS, startSftpFixture, USER, type SftpFixture } from '../sftp/helpers.ts';

const SIZES = [
  ['empty.bin', 0],
  ['small.bin', 1000],
  ['big.bin', 20 * MiB],
] as const;

async function s3Server(t: TestContext): Promise<{ s3: S3Fixture; f: SftpFixture }> {
  // Credentials from the usual AWS source: the environment.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
  t.after(() => {
    for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const s3 = await startS3(t);
  const f = await startSftpFixture(t, { storage: { type: 's3', s3: { bucket: BUCKET, endpoint: s3.endpoint, forcePathStyle: true } } });
  return { s3, f };
}

async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, size] of SIZES) out[name] = (await randomFile(dir, name, size)).sha256;
  return out;
}

void test('OpenSSH sftp on S3: put, ls, get, rename, rm; no statvfs or hardlink offered', { timeout: 180_000 }, async (t) => {
  const { s3, f } = await s3Server(t);
  const sums = await files(f.dir);
  const r = await sftpBatch(f, [
    'mkdir d',
    'cd d',
    ...SIZES.map(([n]) => `put ${n}`),
    'ls -l',
    ...SIZES.map(([n]) => `get ${n} out-${n}`),
    'rename small.bin moved.bin',
    '-df /',
    '-ln moved.bin hard.bin',
    'rm empty.bin',
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (const [n, size] of SIZES) {
    assert.equal(await sha256File(path.join(f.dir, `out-${n}`)), sums[n], n);
    assert.match(r.stdout, new RegExp(`\\s${size}\\s.*${n.replace('.', '\\.')}`));
  }
  assert.match(r.stderr, /does not support.*statvfs/i);
  assert.match(r.stderr, /does not support.*hardlink/i);
  assert.deepEqual((await s3.keys(`users/${USER}/`)).sort(), [`users/${USER}/d/`, `users/${USER}/d/big.bin`, `users/${USER}/d/moved.bin`]);
});

void test('lftp and curl (FTPS) on S3: put and get by hash; FEAT offers no REST STREAM; APPE refused clearly', { timeout: 180_000 }, async (t) => {
  await requireBinary('lftp', 'lftp');
  await requireBinary('curl', 'curl');
  const { s3, f } = await s3Server(t);
  const sums = await files(f.dir);
  const port = f.srv.port('ftps (explicit)');
  const ca = path.join(f.srv.dataDir, 'tls', 'cert.pem');
  const script = [
    `set ssl:ca-file ${ca}`,
    'set ftp:ssl-force true',
    'set ftp:ssl-protect-data true',
    'set net:max-retries 1',
    'set cmd:fail-exit true',
    `open -u "${USER},${PASSWORD}" ftp://127.0.0.1:${port}`,
    'quote FEAT',
    'mkdir lf',
    'cd lf',
    ...SIZES.map(([n]) => `put ${path.join(f.dir, n)} -o ${n}`),
    'cls -l',
    ...SIZES.map(([n]) => `get ${n} -o ${path.join(f.dir, `lftp-${n}`)}`),
    'echo ==DONE',
  ].join('\n');
  const r = await run('lftp', ['-c', script]);
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /==DONE/);
  assert.doesNotMatch(r.stdout, /REST STREAM/);
  assert.doesNotMatch(r.stdout, /MFMT/);
  assert.match(r.stdout, /MLST/);
  for (const [n] of SIZES) assert.equal(await sha256File(path.join(f.dir, `lftp-${n}`)), sums[n], `lftp ${n}`);

  const common = ['-sS', '--fail', '--cacert', ca, '--ssl-reqd', '-u', `${USER}:${PASSWORD}`];
  const base = `ftp://127.0.0.1:${port}`;
  for (const [n] of SIZES) {
    const up = await run('curl', [...common, '--ftp-create-dirs', '-T', path.join(f.dir, n), `${base}/cu/${n}`]);
    assert.equal(up.code, 0, up.stderr);
    const down = await run('curl', [...common, '-o', path.join(f.dir, `curl-${n}`), `${base}/cu/${n}`]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(path.join(f.dir, `curl-${n}`)), sums[n], `curl ${n}`);
  }
  // Append to an existing object: refused with the catalogue's reason, the object unchanged.
  await writeFile(path.join(f.dir, 'tail.bin'), 'tail');
  const appe = await run('curl', [...common, '--append', '-T', path.join(f.dir, 'tail.bin'), `${base}/cu/small.bin`]);
  assert.notEqual(appe.code, 0);
  assert.match(appe.stderr, /550/);
  const again = await run('curl', [...common, '-o', path.join(f.dir, 'again.bin'), `${base}/cu/small.bin`]);
  assert.equal(again.code, 0);
  assert.equal(await sha256File(path.join(f.dir, 'again.bin')), sums['small.bin']);
  assert.equal((await s3.keys(`users/${USER}/cu/`)).length, 1 + SIZES.length);
});

void test('S3: an sftp client killed in mid-upload leaves no object and aborts its multipart upload', { timeout: 120_000 }, async (t) => {
  await requireBinary('sftp', 'openssh-client');
  const { s3, f } = await s3Server(t);
  await randomFile(f.dir, 'big.bin', 20 * MiB);
  s3.faults.partDelayMs = 2000;
  await writeFile(path.join(f.dir, 'batch'), 'put big.bin\n');
  const child = spawn('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.key, '-P', String(f.port), '-b', path.join(f.dir, 'batch'), `${USER}@127.0.0.1`], { cwd: f.dir, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  while (!s3.seen.some((s) => s.includes('partNumber=1'))) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await exited;
  const core = f.srv.server.core;
  while (core.sessions.size > 0) await new Promise((r) => setTimeout(r, 50));
  s3.faults.partDelayMs = 0;
  // The session's close aborted the upload: parts dropped, nothing under the name.
  while (!s3.seen.some((s) => s.startsWith('DELETE') && s.includes('uploadId='))) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await s3.keys(`users/${USER}/`), []);
});
