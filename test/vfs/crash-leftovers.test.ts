// Attack/ops case (issue 14.9): `kill -9` of the server in the middle of an upload leaves a
// hidden `.portcullis-upload-*` file in the home. The next start removes it (and audits it),
// without touching the user's files.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import ssh2, { type SFTPWrapper } from 'ssh2';
import { BIN, runCli } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';

const CONFIG = `
dataDir: ./data
log: { level: info }
sftp: { address: 127.0.0.1, port: 0 }
ftps: { enabled: false }
mfa: { required: false }
`;

function serve(cwd: string): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--config', 'p.yaml'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /sftp listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m && /^ready$/m.test(out)) resolve({ child, port: Number(m[1]), output: () => out });
    });
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before ready:\n${out}`)));
  });
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('upload leftovers of a server killed with SIGKILL are removed at the next start, and audited', { timeout: 120_000 }, async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'p.yaml'), CONFIG);
  const add = await runCli(['user', 'add', 'alice', '--password-stdin', '--config', 'p.yaml'], { cwd: dir, stdin: 'Tr0ub4dor&3\n' });
  assert.equal(add.code, 0, add.stderr);
  const home = path.join(dir, 'data', 'home', 'alice');
  const leftovers = async (): Promise<string[]> => (await readdir(home).catch(() => [])).filter((n) => n.startsWith('.portcullis-upload-'));

  const first = await serve(dir);
  const conn = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    conn.once('ready', () => resolve()).once('error', reject);
    conn.connect({ host: '127.0.0.1', port: first.port, username: 'alice', password: 'Tr0ub4dor&3', readyTimeout: 20_000 });
  });
  conn.on('error', () => undefined); // the server dies under it
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
  await new Promise<void>((resolve, reject) => sftp.writeFile('kept.txt', 'good content', (err) => (err ? reject(err) : resolve())));
  // An upload in progress: open, write a first chunk, then the server is killed.
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open('big.bin', 'w', (err, h) => (err ? reject(err) : resolve(h))));
  await new Promise<void>((resolve, reject) => sftp.write(handle, Buffer.alloc(1 << 20, 7), 0, 1 << 20, 0, (err) => (err ? reject(err) : resolve())));
  await waitFor('the temporary file', async () => (await leftovers()).length === 1);
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  conn.end();
  assert.equal((await leftovers()).length, 1, 'the kill left the temporary file behind');

  const second = await serve(dir);
  try {
    await waitFor('the leftover to be removed', async () => (await leftovers()).length === 0);
    assert.equal(await readFile(path.join(home, 'kept.txt'), 'utf8'), 'good content', "the user's files are untouched");
    await waitFor('the audit record', async () => (await readFile(path.join(dir, 'data', 'audit', 'audit.jsonl'), 'utf8').catch(() => '')).includes('storage.leftovers.removed'));
    const line = (await readFile(path.join(dir, 'data', 'audit', 'audit.jsonl'), 'utf8')).split('\n').find((l) => l.includes('storage.leftovers.removed'))!;
    assert.match(line, /"files":1/);
    assert.match(line, /"bytes":1048576/);
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }
});
