// `portcullis serve` as a user runs it: first start creates the keys (0600), later starts
// reuse them, it prints where it listens and the fingerprints, and bad config fails at start.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { runCli, startServe } from './helpers/cli.ts';
import { makeTempDir } from './helpers/server.ts';

const CONFIG = `
dataDir: ./data
log: { level: warn }
sftp: { address: 127.0.0.1, port: 0 }
ftps: { address: 127.0.0.1, port: 0, implicitPort: 0 }
metrics: { address: 127.0.0.1, port: 0 }
`;

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

test('first start creates keys with mode 0600; the second start reuses them', async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'portcullis.yaml'), CONFIG);

  const first = await startServe([], { cwd: dir });
  const out1 = first.lines.join('\n');
  assert.match(out1, /created on first start: tls\/cert\.pem, tls\/key\.pem, ssh\/ssh_host_ed25519_key, ssh\/ssh_host_rsa_key/);
  assert.match(out1, /TLS certificate ECDSA prime256v1 SHA256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  assert.match(out1, /SSH host key ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/);
  assert.match(out1, /SSH host key ssh-rsa-3072 SHA256:/);
  const health = /health listening on (http:\/\/127\.0\.0\.1:\d+)\/healthz/.exec(out1);
  assert.ok(health, out1);
  assert.deepEqual(await get(`${health[1]}/healthz`), { status: 200, body: 'ok\n' });
  assert.deepEqual(await get(`${health[1]}/readyz`), { status: 200, body: 'ready\n' });
  assert.equal((await get(`${health[1]}/other`)).status, 404);
  const r1 = await first.stop();
  assert.equal(r1.code, 0, r1.stderr);

  for (const f of ['tls/key.pem', 'ssh/ssh_host_ed25519_key', 'ssh/ssh_host_rsa_key', 'portcullis.db']) {
    assert.equal((await stat(path.join(dir, 'data', f))).mode & 0o777, 0o600, f);
  }
  for (const d of ['data', 'data/tls', 'data/ssh']) assert.equal((await stat(path.join(dir, d))).mode & 0o777, 0o700, d);

  // The generated host key is one OpenSSH accepts.
  const { stdout } = await promisify(execFile)('ssh-keygen', ['-l', '-f', path.join(dir, 'data/ssh/ssh_host_ed25519_key.pub')]);
  const fp = stdout.split(' ')[1]!;
  assert.ok(out1.includes(fp), 'printed fingerprint matches ssh-keygen');

  const second = await startServe([], { cwd: dir });
  const out2 = second.lines.join('\n');
  assert.doesNotMatch(out2, /created on first start/);
  const fingerprints = (s: string) => s.split('\n').filter((l) => /SHA256/.test(l)).map((l) => l.replace(/valid until.*/, ''));
  assert.deepEqual(fingerprints(out2), fingerprints(out1));
  assert.equal((await second.stop()).code, 0);
  assert.deepEqual((await readdir(path.join(dir, 'data/ssh'))).sort(), ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub', 'ssh_host_rsa_key', 'ssh_host_rsa_key.pub']);
});

test('a configuration mistake fails at start, naming the key, with a non-zero exit', async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'bad.yaml'), 'sftp:\n  port: 99999\n');
  const r = await runCli(['serve', '--config', 'bad.yaml'], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^portcullis: The configuration is invalid: .*bad\.yaml: sftp\.port: must be a port number from 0 to 65535 \(got 99999\) \[ERR_CONFIG_INVALID\]\n$/);
  const env = await runCli(['config', 'check'], { cwd: dir, env: { PORTCULLIS_FTPS__PASSIVE_PORTS: 'lots' } });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /ftps\.passivePorts: .*\[from PORTCULLIS_FTPS__PASSIVE_PORTS\]/);
});

test('a port already in use fails at start with a clear message', async (t) => {
  const dir = await makeTempDir(t);
  const blocker = http.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  await writeFile(path.join(dir, 'portcullis.yaml'), CONFIG.replace('metrics: { address: 127.0.0.1, port: 0 }', `metrics: { address: 127.0.0.1, port: ${port} }`));
  const r = await runCli(['serve'], { cwd: dir });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /EADDRINUSE/);
});
