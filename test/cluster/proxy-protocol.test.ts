// Client addresses through a balancer (issue 17): HAProxy (Debian's) in front of the SFTP
// listener with send-proxy-v2 and of the explicit FTPS listener with send-proxy (v1). OpenSSH
// sftp and lftp log in through it; the address admission, the defender's bans and the audit
// trail see is the client's (bound to its own loopback address), not the balancer's. Attacks: a
// client forging a header directly or through the balancer is never believed, and a trusted
// peer that sends no header is refused and audited with the reason.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { startApi } from '../api/helpers.ts';
import { makeTempDir, startTestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SSH = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];
const BALANCER = '127.0.0.50';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function haproxy(t: TestContext, dir: string, routes: { front: number; back: number; send: 'send-proxy' | 'send-proxy-v2' }[]): Promise<void> {
  const cfg = [
    'global',
    '  maxconn 200',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    ...routes.flatMap((r, i) => [`listen l${i}`, `  bind 127.0.0.1:${r.front}`, `  server s${i} 127.0.0.1:${r.back} ${r.send} source ${BALANCER}`]),
  ].join('\n');
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, `${cfg}\n`);
  const proc = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  t.after(() => proc.kill('SIGKILL'));
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port: routes[0]!.front, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error(`haproxy did not start:\n${out}`);
}

async function trail(dataDir: string): Promise<{ event: string; remoteAddress?: string; code?: string; rule?: string; user?: string }[]> {
  const text = await readFile(path.join(dataDir, 'audit', 'audit.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string });
}

async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('through HAProxy (PROXY v2 for SFTP, v1 for FTPS) the client address is the one admitted, banned and audited', { timeout: 120_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const srv = await startTestServer(t, { proxy: { trustedAddresses: [`${BALANCER}/32`] }, ftps: { implicitPort: null, passiveAddress: '127.0.0.1' } });
  const key = path.join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await srv.addUser('alice', { password: 'correct horse battery staple', keyFile: `${key}.pub` });
  await mkdir(path.join(srv.dataDir, 'home', 'alice'), { recursive: true });
  await writeFile(path.join(srv.dataDir, 'home', 'alice', 'hello.txt'), 'hello through the balancer\n');
  const [sftpFront, ftpsFront] = [await freePort(), await freePort()];
  await haproxy(t, dir, [
    { front: sftpFront, back: srv.port('sftp'), send: 'send-proxy-v2' },
    { front: ftpsFront, back: srv.port('ftps (explicit)'), send: 'send-proxy' },
  ]);

  // OpenSSH sftp from 127.0.0.7 through the balancer.
  await writeFile(path.join(dir, 'batch'), `get hello.txt ${path.join(dir, 'got.txt')}\n`);
  const sftp = await run('sftp', [...SSH, '-o', 'BindAddress=127.0.0.7', '-i', key, '-P', String(sftpFront), '-b', path.join(dir, 'batch'), 'alice@127.0.0.1']).catch((e: { stderr?: string }) => e);
  assert.equal(await readFile(path.join(dir, 'got.txt'), 'utf8'), 'hello through the balancer\n', JSON.stringify(sftp));
  // lftp from 127.0.0.9 through the balancer; the data connection goes straight to the node's passive port.
  const lftp = [`set ssl:ca-file ${path.join(srv.dataDir, 'tls', 'cert.pem')}`, 'set ftp:ssl-force true', 'set ftp:ssl-protect-data true', 'set net:socket-bind-ipv4 127.0.0.9', 'set net:max-retries 1', 'set cmd:fail-exit true', `open -u "alice,correct horse battery staple" ftp://127.0.0.1:${ftpsFront}`, 'cat hello.txt'].join('\n');
  const got = await run('lftp', ['-c', lftp]);
  assert.equal(got.stdout, 'hello through the balancer\n');

  const records = await until('both logins', async () => {
    const r = await trail(srv.dataDir);
    return r.filter((x) => x.event === 'auth.succeeded').length >= 2 ? r : undefined;
  });
  const logins = records.filter((x) => x.event === 'auth.succeeded').map((x) => x.remoteAddress).sort();
  assert.deepEqual(logins, ['127.0.0.7', '127.0.0.9'], 'the audit names the clients');
  assert.ok(!records.some((x) => x.remoteAddress === BALANCER), 'the balancer address is never taken for a client');

  // A ban on one client refuses it through the balancer; another client still gets in.
  await srv.server.core.access.defender.ban('127.0.0.7', 'test', 'admin', 10);
  const banned = await run('sftp', [...SSH, '-o', 'BindAddress=127.0.0.7', '-o', 'ConnectTimeout=10', '-i', key, '-P', String(sftpFront), '-b', path.join(dir, 'batch'), 'alice@127.0.0.1']).then(
    () => 0,
    (e: { code?: number }) => e.code ?? 1,
  );
  assert.notEqual(banned, 0, 'the banned client is refused through the balancer');
  await until('the refusal', async () => ((await trail(srv.dataDir)).some((x) => x.event === 'conn.refused' && x.code === 'ERR_ADMISSION_BANNED' && x.remoteAddress === '127.0.0.7') ? true : undefined));
  const other = await run('sftp', [...SSH, '-o', 'BindAddress=127.0.0.8', '-i', key, '-P', String(sftpFront), '-b', path.join(dir, 'batch'), 'alice@127.0.0.1']);
  assert.equal(other.stderr, '');

  // A client forging its own header after the balancer's: it is SSH's greeting, not believed.
  const forged = net.connect({ port: sftpFront, host: '127.0.0.1', localAddress: '127.0.0.11' });
  forged.on('error', () => undefined);
  forged.write('PROXY TCP4 10.9.9.9 127.0.0.1 1234 22\r\nSSH-2.0-forger\r\n');
  await sleep(1_000);
  forged.destroy();
  const after = await trail(srv.dataDir);
  assert.ok(!after.some((x) => x.remoteAddress === '10.9.9.9'), 'a forged header is never taken');
  assert.ok(after.some((x) => x.event === 'conn.accepted' && x.remoteAddress === '127.0.0.11'), 'the forger is known by its real address');
});

test('direct connections: an untrusted peer\'s header is not read, a trusted peer without a header is refused with the reason', { timeout: 60_000 }, async (t) => {
  const srv = await startTestServer(t, { proxy: { trustedAddresses: [`${BALANCER}/32`] } });
  const port = srv.port('sftp');
  // Untrusted: the header is SSH's problem (a malformed greeting), and the address stays the peer's.
  const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.12' });
  s.on('error', () => undefined);
  s.write('PROXY TCP4 10.9.9.9 127.0.0.1 1234 22\r\n');
  await sleep(500);
  s.destroy();
  // Trusted, but an SSH greeting instead of a header: refused before admission, audited, unscored.
  const b = net.connect({ port, host: '127.0.0.1', localAddress: BALANCER });
  b.on('error', () => undefined);
  b.write('SSH-2.0-OpenSSH_9.2\r\n');
  const closed = await new Promise<boolean>((resolve) => {
    b.on('close', () => resolve(true));
    setTimeout(() => resolve(false), 3_000);
  });
  assert.equal(closed, true, 'a trusted peer without a header is cut off');
  const records = await until('the refusal', async () => {
    const r = await trail(srv.dataDir);
    return r.some((x) => x.code === 'ERR_ADMISSION_PROXY_HEADER') ? r : undefined;
  });
  const refusal = records.find((x) => x.code === 'ERR_ADMISSION_PROXY_HEADER')!;
  assert.equal(refusal.remoteAddress, BALANCER);
  assert.match(refusal.rule ?? '', /no PROXY protocol header/);
  assert.ok(!records.some((x) => x.remoteAddress === '10.9.9.9'), 'an untrusted peer\'s header is never read');
  assert.equal(srv.server.core.access.defender.scoreOf(BALANCER), 0, 'the balancer is not scored');
});

test('the admin API behind HAProxy (PROXY v2): the client address is the one banned; a balancer without a header is refused', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const api = await startApi(t, { proxy: { trustedAddresses: [`${BALANCER}/32`] } });
  const token = await api.token('ops', 'users:read');
  const adminPort = Number(new URL(api.url).port);
  const front = await freePort();
  await haproxy(t, dir, [{ front, back: adminPort, send: 'send-proxy-v2' }]);
  const health = async (from: string, port = front) => {
    const r = await run('curl', ['-sS', '--interface', from, '--cacert', api.ca, '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${token}`, `https://127.0.0.1:${port}/v1/health`]).then(
      (x) => x.stdout,
      (e: { stdout?: string }) => e.stdout ?? 'error',
    );
    return r;
  };
  assert.equal(await health('127.0.0.13'), '200', 'through the balancer');
  await api.srv.server.core.access.defender.ban('127.0.0.13', 'test', 'admin', 10);
  assert.equal(await health('127.0.0.13'), '403', 'the banned client is refused through the balancer');
  assert.equal(await health('127.0.0.14'), '200', 'another client behind the same balancer is not');
  // The balancer's address without a header, straight to the API: cut off, audited.
  assert.notEqual(await health(BALANCER, adminPort), '200');
  const records = await until('the refusal', async () => {
    const r = await trail(api.srv.dataDir);
    return r.some((x) => x.code === 'ERR_ADMISSION_PROXY_HEADER') ? r : undefined;
  });
  assert.ok(records.some((x) => x.code === 'ERR_ADMISSION_BANNED' && x.remoteAddress === '127.0.0.13'));
});

test('the portal behind HAProxy (PROXY v1): the client address is the one banned; a balancer without a header is refused', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const srv = await startTestServer(t, { proxy: { trustedAddresses: [`${BALANCER}/32`] }, portal: { enabled: true, tls: false, address: '127.0.0.1', port: 0 } });
  const portalPort = srv.server.portal!.port;
  const front = await freePort();
  await haproxy(t, dir, [{ front, back: portalPort, send: 'send-proxy' }]);
  const login = (from: string, port = front) =>
    run('curl', ['-sS', '--interface', from, '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/login`]).then(
      (x) => x.stdout,
      (e: { stdout?: string }) => e.stdout ?? 'error',
    );
  assert.equal(await login('127.0.0.15'), '200', 'through the balancer');
  await srv.server.core.access.defender.ban('127.0.0.15', 'test', 'admin', 10);
  assert.equal(await login('127.0.0.15'), '403', 'the banned client is refused through the balancer');
  assert.equal(await login('127.0.0.16'), '200', 'another client behind the same balancer is not');
  assert.notEqual(await login(BALANCER, portalPort), '200', 'the balancer without a header');
  const records = await until('the refusal', async () => {
    const r = await trail(srv.dataDir);
    return r.some((x) => x.code === 'ERR_ADMISSION_PROXY_HEADER' && x.event === 'conn.refused') ? r : undefined;
  });
  assert.ok(records.some((x) => x.code === 'ERR_ADMISSION_BANNED' && x.remoteAddress === '127.0.0.15'), 'the ban is recorded against the client, not the balancer');
});
