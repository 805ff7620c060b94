// `systemctl reload` / SIGHUP re-reads the configuration (issue 18): live keys apply at once
// (a new deny rule refuses the next connection), keys that need a restart are named, an open
// session is untouched, and an invalid file is refused naming the key while the running
// configuration stays.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { runCli, startServe } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';

const BASE = `
dataDir: ./data
log: { level: warn }
sftp: { address: 127.0.0.1, port: 0 }
ftps: { address: 127.0.0.1, port: 0, implicitPort: 0 }
metrics: { enabled: false }
mfa: { required: false }
`;

function banner(port: number, from: string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
    const done = () => {
      s.destroy();
      resolve(data);
    };
    s.setTimeout(2000, done);
    s.on('data', (c: Buffer) => {
      data += c.toString();
      if (data.includes('\n')) done();
    });
    s.on('close', done);
    s.on('error', done);
  });
}

async function trail(dir: string): Promise<{ event: string; [k: string]: unknown }[]> {
  const text = await readFile(path.join(dir, 'data', 'audit', 'audit.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string });
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('SIGHUP applies live keys at once, names the ones that need a restart, keeps sessions, and refuses an invalid file', { timeout: 120_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const file = path.join(dir, 'portcullis.yaml');
  await writeFile(file, BASE);
  const server = await startServe([], { cwd: dir });
  t.after(() => void server.stop());
  const port = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(server.lines.join('\n'))?.[1]);
  assert.ok(port > 0, server.lines.join('\n'));
  const add = await runCli(['user', 'add', 'alice', '--password-stdin'], { cwd: dir, stdin: 'correct horse battery\n' });
  assert.equal(add.code, 0, add.stderr);

  // An open SFTP session from 127.0.0.9, the address about to be denied.
  const client = new ssh2.Client();
  const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => {
    client.on('ready', () => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.9', username: 'alice', password: 'correct horse battery' });
  });
  t.after(() => client.end());
  assert.match(await banner(port, '127.0.0.9'), /^SSH-2\.0-/);

  await writeFile(file, `${BASE}access: { deny: [127.0.0.9] }\nlimits: { maxAuthAttempts: 2 }\nalerts: { suppressMinutes: 30 }\n`);
  server.signal('SIGHUP');
  const done = await waitFor('config.reload.completed', async () => (await trail(dir)).find((r) => r.event === 'config.reload.completed' && r.what === 'configuration'));
  assert.deepEqual(done.applied, ['access.deny', 'limits.maxAuthAttempts']);
  assert.deepEqual(done.restartNeeded, ['alerts.suppressMinutes']);
  // The deny rule refuses the next connection from that address; others still get in.
  assert.equal(await banner(port, '127.0.0.9'), '');
  assert.match(await banner(port, '127.0.0.2'), /^SSH-2\.0-/);
  // The session opened before the reload goes on.
  const list = await new Promise<string[]>((resolve, reject) => sftp.readdir('.', (err, l) => (err ? reject(err) : resolve(l.map((e) => e.filename)))));
  assert.ok(Array.isArray(list));

  // An invalid file: refused, the key named, the running configuration kept.
  await writeFile(file, `${BASE}limits: { maxConnections: -5 }\n`);
  server.signal('SIGHUP');
  const failed = await waitFor('config.reload.failed', async () => (await trail(dir)).find((r) => r.event === 'config.reload.failed' && r.what === 'configuration'));
  assert.match(String(failed.detail), /limits\.maxConnections/);
  assert.equal(await banner(port, '127.0.0.9'), '', 'the running configuration (with the deny rule) stays');
  assert.match(server.output().stdout + server.output().stderr, /configuration reload refused/);
});

test('portcullis reload asks the running server to reload and prints what was applied, what waits for a restart, and the certificate', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const file = path.join(dir, 'portcullis.yaml');
  await writeFile(file, BASE);
  const server = await startServe([], { cwd: dir });
  t.after(() => void server.stop());
  const port = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(server.lines.join('\n'))?.[1]);

  await writeFile(file, `${BASE}access: { deny: [127.0.0.9] }\nalerts: { suppressMinutes: 30 }\n`);
  const r = await runCli(['reload'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration: reloaded; applied now: access\.deny/);
  assert.match(r.stdout, /changed but applied only after a restart: alerts\.suppressMinutes/);
  assert.match(r.stdout, /TLS certificate: SHA256 [0-9A-F:]+, valid until/);
  assert.equal(await banner(port, '127.0.0.9'), '', 'the deny rule applies at once');

  const json = await runCli(['reload', '--json'], { cwd: dir });
  assert.equal(json.code, 0, json.stderr);
  const outcome = JSON.parse(json.stdout) as { configuration: { ok: boolean; applied: string[] } };
  assert.deepEqual(outcome.configuration, { ok: true, applied: [], restartNeeded: ['alerts.suppressMinutes'] }, 'nothing new applies; the key that needs a restart still does');

  // An invalid file is named by the command itself (it reads the same file), and nothing changes.
  await writeFile(file, `${BASE}limits: { maxConnections: -5 }\n`);
  const bad = await runCli(['reload'], { cwd: dir });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /limits\.maxConnections/);
  assert.equal(await banner(port, '127.0.0.9'), '', 'the running configuration stays');
});
