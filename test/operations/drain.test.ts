// A restart for an upgrade does not cut transfers (issue 18): on SIGTERM the server refuses new
// connections at once, lets an OpenSSH sftp download and an lftp FTPS upload that are running
// finish and verify, logs its progress, and then exits cleanly.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { runCli, startServe } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SSH = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];

function run(file: string, args: string[]): { done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code, out }))) };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM drains: new connections refused, a running sftp download and lftp upload complete and verify, then a clean exit', { timeout: 180_000 }, async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(
    path.join(dir, 'portcullis.yaml'),
    'dataDir: ./data\nlog: { level: info }\nsftp: { address: 127.0.0.1, port: 0 }\nftps: { address: 127.0.0.1, port: 0, implicitPort: 0 }\nmetrics: { enabled: false }\nmfa: { required: false }\n',
  );
  const key = path.join(dir, 'id_ed25519');
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const add = await runCli(['user', 'add', 'alice', '--password-stdin', '--key', `${key}.pub`], { cwd: dir, stdin: 'correct horse battery\n' });
  assert.equal(add.code, 0, add.stderr);
  const home = path.join(dir, 'data', 'home', 'alice');
  await mkdir(home, { recursive: true });
  const big = randomBytes(12 * 1024 * 1024);
  await writeFile(path.join(home, 'big.bin'), big);
  const up = randomBytes(8 * 1024 * 1024);
  await writeFile(path.join(dir, 'up.bin'), up);

  const server = await startServe([], { cwd: dir });
  const out = server.lines.join('\n');
  const sftpPort = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  const ftpsPort = Number(/ftps \(explicit\) listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  assert.ok(sftpPort > 0 && ftpsPort > 0, out);

  // Both transfers rate-limited by their clients so that they run across the stop.
  await writeFile(path.join(dir, 'batch'), `get big.bin ${path.join(dir, 'got.bin')}\n`);
  const download = run('sftp', [...SSH, '-i', key, '-l', '6000', '-P', String(sftpPort), '-b', path.join(dir, 'batch'), 'alice@127.0.0.1']);
  const lftp = [`set ssl:ca-file ${path.join(dir, 'data', 'tls', 'cert.pem')}`, 'set ftp:ssl-force true', 'set ftp:ssl-protect-data true', 'set net:limit-rate 600000', 'set net:max-retries 1', 'set cmd:fail-exit true', `open -u "alice,correct horse battery" ftp://127.0.0.1:${ftpsPort}`, `put ${path.join(dir, 'up.bin')} -o up.bin`].join('\n');
  const upload = run('lftp', ['-c', lftp]);
  await new Promise((r) => setTimeout(r, 3_000));
  const stopped = server.stop();
  // New connections are refused at once on both protocols.
  for (let i = 0; i < 50 && !(await refused(sftpPort)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await refused(sftpPort), true, 'sftp listener closed');
  assert.equal(await refused(ftpsPort), true, 'ftps listener closed');

  const [d, u] = await Promise.all([download.done, upload.done]);
  assert.equal(d.code, 0, `sftp: ${d.out}`);
  assert.equal(u.code, 0, `lftp: ${u.out}`);
  assert.equal(sha(await readFile(path.join(dir, 'got.bin'))), sha(big), 'the download completed intact');
  assert.equal(sha(await readFile(path.join(home, 'up.bin'))), sha(up), 'the upload completed intact');
  const result = await stopped;
  assert.equal(result.code, 0, result.stderr);
  const log = result.stdout + result.stderr;
  assert.match(log, /draining: \d transfer\(s\) still running/);
  assert.match(log, /drain complete/);
});
