// curl against the FTPS server: explicit (--ssl-reqd) and implicit (ftps://), TLS 1.2 and 1.3.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { MiB, PASSWORD, USER, randomFile, requireBinary, run, sha256File, startFtps } from './helpers.ts';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function scenario(t: TestContext, version: '1.2' | '1.3', mode: 'explicit' | 'implicit'): Promise<void> {
  await requireBinary(t, 'curl', 'apt-get install -y curl');
  const f = await startFtps(t);
  const base = mode === 'explicit' ? `ftp://127.0.0.1:${f.explicitPort}` : `ftps://127.0.0.1:${f.implicitPort}`;
  const common = ['-sS', '--fail', '--cacert', f.caFile, `--tlsv${version}`, '--tls-max', version, '-u', `${USER}:${PASSWORD}`, ...(mode === 'explicit' ? ['--ssl-reqd'] : [])];
  const curl = async (...args: string[]): Promise<string> => {
    const r = await run('curl', [...common, ...args]);
    assert.equal(r.code, 0, `curl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const small = await randomFile(f.work, 'small.bin', MiB);
  const big = await randomFile(f.work, 'big.bin', 50 * MiB);

  // mkdir (--ftp-create-dirs sends MKD) + upload 1 MiB and 50 MiB
  await curl('--ftp-create-dirs', '-T', small.file, `${base}/dir/small.bin`);
  await curl('-T', big.file, `${base}/dir/big.bin`);
  assert.equal(await sha256File(path.join(f.home, 'dir/small.bin')), small.sha256);
  assert.equal(await sha256File(path.join(f.home, 'dir/big.bin')), big.sha256);

  // LIST and MLSD
  const list = await curl(`${base}/dir/`);
  assert.match(list, /^-rw-r--r-- .* 1048576 .* small\.bin\r?$/m);
  const mlsd = await curl('-X', 'MLSD', `${base}/dir/`);
  assert.match(mlsd, /type=file;size=52428800;modify=\d{14};perm=[a-z]+;UNIX\.mode=0644; big\.bin/);

  // SIZE and MDTM (-I asks for both)
  const head = await curl('-I', `${base}/dir/small.bin`);
  assert.match(head, /Content-Length: 1048576/);
  assert.match(head, /Last-Modified: /);

  // download and compare; several transfers in one session (one curl, three URLs)
  const out = path.join(f.work, 'out.bin');
  await curl('-o', out, `${base}/dir/big.bin`, '-o', path.join(f.work, 's1'), `${base}/dir/small.bin`, '-o', path.join(f.work, 's2'), `${base}/dir/small.bin`);
  assert.equal(await sha256File(out), big.sha256);
  assert.equal(await sha256File(path.join(f.work, 's1')), small.sha256);
  assert.equal(await sha256File(path.join(f.work, 's2')), small.sha256);

  // resume a download (REST + RETR)
  const part = path.join(f.work, 'part.bin');
  await curl('-C', '1000', '-o', part, `${base}/dir/small.bin`);
  assert.deepEqual(await readFile(part), (await readFile(small.file)).subarray(1000));

  // resume an upload (curl -C - : SIZE, then APPE of the rest)
  const half = path.join(f.work, 'half.bin');
  await writeFile(half, (await readFile(small.file)).subarray(0, MiB / 2));
  await curl('-T', half, `${base}/dir/resumed.bin`);
  await curl('-C', '-', '-T', small.file, `${base}/dir/resumed.bin`);
  assert.equal(await sha256File(path.join(f.home, 'dir/resumed.bin')), small.sha256);

  // rename, delete, rmdir
  await curl('-o', '/dev/null', '-Q', 'RNFR dir/small.bin', '-Q', 'RNTO dir/renamed.bin', `${base}/`);
  assert.ok(await exists(path.join(f.home, 'dir/renamed.bin')));
  assert.ok(!(await exists(path.join(f.home, 'dir/small.bin'))));
  await curl('-o', '/dev/null', '-Q', 'DELE dir/renamed.bin', '-Q', 'DELE dir/big.bin', '-Q', 'DELE dir/resumed.bin', '-Q', 'RMD dir', `${base}/`);
  assert.ok(!(await exists(path.join(f.home, 'dir'))));
}

for (const version of ['1.2', '1.3'] as const) {
  void test(`curl explicit FTPS (--ssl-reqd) on TLS ${version}: full session`, { timeout: 180_000 }, (t) => scenario(t, version, 'explicit'));
  void test(`curl implicit FTPS (ftps://) on TLS ${version}: full session`, { timeout: 180_000 }, (t) => scenario(t, version, 'implicit'));
}
