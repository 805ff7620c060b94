// Silent sockets (issue 14.2): 512 TCP connections from 16 addresses that send nothing or half
// an SSH identification line used to hold every slot, locking every SFTP and FTPS user out for
// as long as they were held. Now connections that have not logged in are capped per address and
// in total (with early random drop and fair eviction at the cap), and closed at a deadline
// counted from accept. The connection rate limit is off here (as in the protocol suites), so the
// flood reaches the caps this test is about.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { PASSWORD, requireBinary, run, sftpBatch, startSftpFixture, USER } from '../sftp/helpers.ts';

interface Held {
  closed: boolean;
  done: Promise<void>;
}

function hold(port: number, from: string, send: string): Held {
  const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
  const h: Held = { closed: false, done: Promise.resolve() };
  h.done = new Promise<void>((resolve) => {
    s.on('close', () => {
      h.closed = true;
      resolve();
    });
  });
  s.on('error', () => undefined);
  s.on('data', () => undefined);
  if (send) s.once('connect', () => s.write(send));
  return h;
}

test('512 silent sockets from 16 addresses lock nobody out, and are closed at the pre-authentication deadline', { timeout: 180_000 }, async (t) => {
  await requireBinary('curl', 'curl');
  const deadline = 15_000;
  const f = await startSftpFixture(t, { limits: { loginTimeoutMs: deadline } });
  const attackers = Array.from({ length: 16 }, (_, i) => `127.0.3.${i + 1}`);
  const held: Held[] = [];
  const started = Date.now();
  for (const from of attackers) {
    for (let i = 0; i < 32; i++) {
      // Half send nothing; half send half an identification line and stop.
      held.push(hold(i % 2 ? f.port : f.srv.port('ftps (explicit)'), from, i % 4 === 1 ? 'SSH-2.0-Open' : ''));
    }
  }
  await new Promise((r) => setTimeout(r, 1_000));
  const open = held.filter((h) => !h.closed).length;
  assert.ok(open <= 128, `at most limits.maxUnauthenticated waiting: ${open}`);

  // The legitimate user, from another address, while the flood holds its sockets.
  const sftp = await sftpBatch(f, ['ls'], ['-o', 'BindAddress=127.0.0.2']);
  assert.equal(sftp.code, 0, `OpenSSH sftp during the flood: ${sftp.stderr}`);
  const ftps = await run('curl', ['-sS', '--ssl-reqd', '-k', '--interface', '127.0.0.2', '--max-time', '20', '-u', `${USER}:${PASSWORD}`, `ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}/`, '-l']);
  assert.equal(ftps.code, 0, `curl FTPS during the flood: ${ftps.stderr}`);
  assert.ok(Date.now() - started < deadline, 'the legitimate logins ran while the flood was held');

  // Every silent socket is closed by the deadline (counted from accept), none left behind.
  await Promise.all(held.map((h) => h.done));
  assert.equal(f.srv.server.core.admission.unauthenticatedCount, 0);
  await f.srv.server.core.trail?.flush();
  const dropped = await f.srv.server.core.store.audit.search({ eventPrefix: 'conn.dropped' });
  assert.ok(
    dropped.some((d) => 'code' in d && d.code === 'ERR_SESSION_LOGIN_TIMEOUT'),
    'deadline drops are audited',
  );
  const refused = await f.srv.server.core.store.audit.search({ eventPrefix: 'conn.refused' });
  assert.ok(
    refused.some((r) => 'code' in r && r.code === 'ERR_ADMISSION_TOO_MANY_UNAUTHENTICATED' && 'rule' in r && /maxUnauthenticatedPerAddress/.test(r.rule)),
    'refusals name the setting',
  );
});
