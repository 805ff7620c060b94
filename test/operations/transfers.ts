// Shared by the restart suites (drain.test.ts, handover.test.ts): a data dir with a user, a
// 12 MiB file to download and an 8 MiB file to upload, and the two real clients (OpenSSH sftp,
// lftp over FTPS) rate-limited so that their transfers span a stop or a hand-over.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli.ts';

export const SERVE_CONFIG = 'dataDir: ./data\nlog: { level: info }\nsftp: { address: 127.0.0.1, port: 0 }\nftps: { address: 127.0.0.1, port: 0, implicitPort: 0 }\nmetrics: { enabled: false }\nmfa: { required: false }\n';
export const SSH = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function run(file: string, args: string[]): { done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code, out }))) };
}

export interface TransferFixture {
  key: string;
  home: string;
  big: Buffer;
  up: Buffer;
}

/** The configuration file, user alice (password and key), and the two files. */
export async function prepareTransfers(dir: string): Promise<TransferFixture> {
  await writeFile(path.join(dir, 'portcullis.yaml'), SERVE_CONFIG);
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
  return { key, home, big, up };
}

/** An sftp download of big.bin and an lftp upload of up.bin, both slowed by their clients. */
export async function startSlowTransfers(dir: string, f: TransferFixture, sftpPort: number, ftpsPort: number): Promise<{ done: Promise<void> }> {
  await writeFile(path.join(dir, 'batch'), `get big.bin ${path.join(dir, 'got.bin')}\n`);
  const download = run('sftp', [...SSH, '-i', f.key, '-l', '6000', '-P', String(sftpPort), '-b', path.join(dir, 'batch'), 'alice@127.0.0.1']);
  const lftp = [`set ssl:ca-file ${path.join(dir, 'data', 'tls', 'cert.pem')}`, 'set ftp:ssl-force true', 'set ftp:ssl-protect-data true', 'set net:limit-rate 600000', 'set net:max-retries 1', 'set cmd:fail-exit true', `open -u "alice,correct horse battery" ftp://127.0.0.1:${ftpsPort}`, `put ${path.join(dir, 'up.bin')} -o up.bin`].join('\n');
  const upload = run('lftp', ['-c', lftp]);
  return {
    // Both clients succeeded and both files arrived intact.
    done: (async () => {
      const [d, u] = await Promise.all([download.done, upload.done]);
      assert.equal(d.code, 0, `sftp: ${d.out}`);
      assert.equal(u.code, 0, `lftp: ${u.out}`);
      assert.equal(sha(await readFile(path.join(dir, 'got.bin'))), sha(f.big), 'the download completed intact');
      assert.equal(sha(await readFile(path.join(f.home, 'up.bin'))), sha(f.up), 'the upload completed intact');
    })(),
  };
}
