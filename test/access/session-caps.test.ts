// Session caps, attacked (issue 14.8): a user limited to N sessions opens many SFTP channels on
// one SSH connection, many connections at once, and many FTPS logins at once; a client piles up
// bare session channels on one connection. Each SFTP/SCP channel and each FTPS control
// connection is one session; the cap is taken atomically where the session opens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client as FtpClient } from 'basic-ftp';
import ssh2, { type SFTPWrapper } from 'ssh2';
import { LIMITS } from '../../src/config/limits.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'alice';
const PASSWORD = 'correct horse battery';

function connect(s: TestServer, from = '127.0.0.1'): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: s.port('sftp'), localAddress: from, username: USER, password: PASSWORD, readyTimeout: 30_000, tryKeyboard: false });
  });
}

/** Opens an SFTP channel and proves it works (realpath), or resolves null. */
function sftpChannel(c: ssh2.Client): Promise<SFTPWrapper | null> {
  return new Promise((resolve) => {
    c.sftp((err, sftp) => {
      if (err) return resolve(null);
      sftp.once('error', () => resolve(null));
      sftp.realpath('.', (e) => resolve(e ? null : sftp));
    });
  });
}

/** Opens a bare session channel (no subsystem, no exec) through ssh2's channel manager: what a
 * hostile client does to hold channels without running anything on them. */
function bareSessionChannel(c: ssh2.Client): Promise<boolean> {
  const internals = c as unknown as { _chanMgr: { add(cb: unknown): number }; _protocol: { session(id: number, window: number, packet: number): void } };
  return new Promise((resolve) => {
    const done = Object.assign((err: unknown) => resolve(!err), { type: 'session' });
    const id = internals._chanMgr.add(done);
    if (id === -1) return resolve(false);
    internals._protocol.session(id, 2 * 1024 * 1024, 32 * 1024);
  });
}

async function refusals(s: TestServer, code: string) {
  await s.server.core.trail?.flush();
  return (await s.server.core.store.audit.search({ eventPrefix: 'session.refused' })).filter((e) => 'code' in e && e.code === code);
}

test('max-sessions 1: eight SFTP channels opened at once on one SSH connection, one is served', { timeout: 120_000 }, async (t) => {
  const s = await startTestServer(t, { defender: { enabled: false } });
  await s.addUser(USER, { password: PASSWORD });
  await s.server.core.store.users.update(USER, { maxSessions: 1 });
  const c = await connect(s);
  t.after(() => c.end());
  const opened = await Promise.all(Array.from({ length: 8 }, () => sftpChannel(c)));
  assert.equal(opened.filter(Boolean).length, 1, 'exactly one SFTP session for a user capped at one');
  assert.equal(await s.server.core.sessionCounter.count(USER), 1);
  const refused = await refusals(s, 'ERR_AUTH_TOO_MANY_SESSIONS');
  assert.equal(refused.length, 7);
  assert.match(String((refused[0] as { reason: string }).reason), /--max-sessions/);

  // Closing the one session frees the slot: the next channel is served.
  const live = opened.find(Boolean)!;
  await new Promise<void>((resolve) => {
    live.once('close', () => resolve());
    live.end();
  });
  for (let i = 0; i < 50 && (await s.server.core.sessionCounter.count(USER)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await sftpChannel(c), 'a new session once the first closed');
});

test('max-sessions 2: twelve SSH connections race to open SFTP, two are served', { timeout: 180_000 }, async (t) => {
  const s = await startTestServer(t, { defender: { enabled: false }, rateLimits: { connectionsPerSecond: 0 } });
  await s.addUser(USER, { password: PASSWORD });
  await s.server.core.store.users.update(USER, { maxSessions: 2 });
  const clients = await Promise.all(Array.from({ length: 12 }, (_, i) => connect(s, `127.0.0.${20 + i}`)));
  t.after(() => clients.forEach((c) => c.end()));
  const opened = await Promise.all(clients.map((c) => sftpChannel(c)));
  assert.equal(opened.filter(Boolean).length, 2);
  assert.equal(await s.server.core.sessionCounter.count(USER), 2);
});

test('a client cannot pile up bare session channels on one SSH connection', { timeout: 120_000 }, async (t) => {
  const s = await startTestServer(t, { defender: { enabled: false } });
  await s.addUser(USER, { password: PASSWORD });
  const c = await connect(s);
  t.after(() => c.end());
  const cap = LIMITS.sshMaxChannelsPerConnection;
  const opened = await Promise.all(Array.from({ length: cap + 6 }, () => bareSessionChannel(c)));
  assert.equal(opened.filter(Boolean).length, cap, `at most ${cap} channels open on one connection`);
  assert.equal((await refusals(s, 'ERR_SESSION_TOO_MANY_CHANNELS')).length, 6);
  // The held channels count: an SFTP channel on top of them is refused too.
  assert.equal(await sftpChannel(c), null);
});

test('FTPS: one control connection is one session; six logins race for a cap of one', { timeout: 120_000 }, async (t) => {
  const s = await startTestServer(t, { sftp: { enabled: false }, defender: { enabled: false }, rateLimits: { connectionsPerSecond: 0 } });
  await s.addUser(USER, { password: PASSWORD });
  await s.server.core.store.users.update(USER, { maxSessions: 1 });
  const clients = Array.from({ length: 6 }, () => new FtpClient(15_000));
  t.after(() => clients.forEach((c) => c.close()));
  const results = await Promise.all(
    clients.map((c) =>
      c.access({ host: '127.0.0.1', port: s.port('ftps (explicit)'), user: USER, password: PASSWORD, secure: true, secureOptions: { rejectUnauthorized: false } }).then(
        () => 'ok',
        (err: Error) => err.message,
      ),
    ),
  );
  assert.equal(results.filter((r) => r === 'ok').length, 1, JSON.stringify(results));
  assert.ok(results.some((r) => /421 Too many sessions/.test(r)), JSON.stringify(results));
  assert.equal(await s.server.core.sessionCounter.count(USER), 1);
  // The session is usable, and a login after it closes is served.
  const winner = clients[results.indexOf('ok')]!;
  assert.ok(Array.isArray(await winner.list()));
  winner.close();
  for (let i = 0; i < 50 && (await s.server.core.sessionCounter.count(USER)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  const again = new FtpClient(15_000);
  t.after(() => again.close());
  await again.access({ host: '127.0.0.1', port: s.port('ftps (explicit)'), user: USER, password: PASSWORD, secure: true, secureOptions: { rejectUnauthorized: false } });
});
