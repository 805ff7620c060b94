// MFA over FTPS with real clients: PASS <password><code> for curl, lftp, basic-ftp and ftplib;
// password alone, wrong codes, replay from another address, recovery codes, lockout.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Client } from 'basic-ftp';
import { execFileAsync } from '../helpers/server.ts';
import { PASSWORD, startMfaServer, USER, type MfaFixture } from './helpers.ts';

const caOf = (f: MfaFixture) => path.join(f.srv.dataDir, 'tls', 'cert.pem');

async function curl(f: MfaFixture, pass: string, from = '127.0.0.1'): Promise<{ ok: boolean; out: string }> {
  return execFileAsync('curl', ['-sS', '--ssl-reqd', '--cacert', caOf(f), '--interface', from, '--max-time', '20', '-u', `${USER}:${pass}`, `ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}/`, '-l']).then(
    (r) => ({ ok: true, out: r.stdout }),
    (e: { stderr?: string }) => ({ ok: false, out: e.stderr ?? '' }),
  );
}

/** ftplib login only (no data channel), from a chosen source address; prints the reply. */
async function ftplibLogin(f: MfaFixture, pass: string, from: string): Promise<string> {
  const script = `
import ftplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[3])
ftp = ftplib.FTP_TLS(context=ctx, timeout=20)
ftp.connect('127.0.0.1', int(sys.argv[1]), source_address=(sys.argv[4], 0))
try:
    print(ftp.login('${USER}', sys.argv[2]))
except ftplib.error_perm as e:
    print(e)
`;
  const r = await execFileAsync('python3', ['-c', script, String(f.srv.port('ftps (explicit)')), pass, caOf(f), from]);
  return r.stdout.trim();
}

test('curl: password + code logs in; password alone and a wrong code do not', { timeout: 120_000 }, async (t) => {
  const f = await startMfaServer(t);
  assert.equal((await curl(f, PASSWORD)).ok, false, 'password alone');
  assert.equal((await curl(f, `${PASSWORD}000000`)).ok, false, 'wrong code');
  assert.equal((await curl(f, `wrong${await f.code()}`)).ok, false, 'wrong password, right code');
  const r = await curl(f, `${PASSWORD}${await f.code()}`);
  assert.ok(r.ok, r.out);
});

test('lftp re-sends the same PASS on every reconnect: accepted from the same address', { timeout: 120_000 }, async (t) => {
  const f = await startMfaServer(t);
  const pass = `${PASSWORD}${await f.code()}`;
  const script = [`set ssl:ca-file ${caOf(f)}`, 'set ftp:ssl-force true', 'set net:max-retries 1', 'set cmd:fail-exit true', `open -u "${USER},${pass}" ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}`, 'mkdir a', 'cls', 'close', 'cls', 'rmdir a', 'echo ok'].join('\n');
  const r = await execFileAsync('lftp', ['-c', script]);
  assert.match(r.stdout, /ok/);
  // curl logs in once per operation with the same PASS, also fine from the same address.
  assert.ok((await curl(f, pass)).ok);
});

test('basic-ftp with password + code; a recovery code works once', { timeout: 120_000 }, async (t) => {
  const f = await startMfaServer(t);
  const client = new Client(30_000);
  t.after(() => client.close());
  await client.access({ host: '127.0.0.1', port: f.srv.port('ftps (explicit)'), user: USER, password: `${PASSWORD}${await f.code()}`, secure: true, secureOptions: { ca: await readFile(caOf(f)) } });
  await client.ensureDir('via-basic-ftp');
  client.close();
  const rc = f.recovery[0]!;
  assert.ok((await curl(f, `${PASSWORD}${rc}`)).ok, 'recovery code accepted');
  assert.equal((await curl(f, `${PASSWORD}${rc}`)).ok, false, 'recovery code used twice');
});

test('ftplib: a replay from 127.0.0.2 is refused while a reconnect from the same address works', { timeout: 120_000 }, async (t) => {
  const f = await startMfaServer(t);
  const pass = `${PASSWORD}${await f.code()}`;
  assert.match(await ftplibLogin(f, pass, '127.0.0.1'), /^230/);
  assert.match(await ftplibLogin(f, pass, '127.0.0.1'), /^230/, 'same address, same code: a reconnect');
  assert.match(await ftplibLogin(f, pass, '127.0.0.2'), /^530/, 'another address: a replay');
  await f.srv.server.core.trail?.flush(); // the trail writer gathers records for a few ms
  const replays = await f.srv.server.core.store.audit.search({ eventPrefix: 'auth.mfa.replayed' });
  assert.equal(replays.length, 1);
  assert.equal(replays[0]!.remoteAddress, '127.0.0.2');
});

test('five wrong codes lock the user, even the right code fails, and the lock lifts', { timeout: 120_000 }, async (t) => {
  const f = await startMfaServer(t, { mfa: { lockoutMinutes: 0.1 } });
  for (let i = 0; i < 5; i++) assert.equal((await curl(f, `${PASSWORD}00000${i}`)).ok, false);
  assert.equal((await curl(f, `${PASSWORD}${await f.code()}`)).ok, false, 'locked');
  await f.srv.server.core.trail?.flush(); // the trail writer gathers records for a few ms
  assert.ok((await f.srv.server.core.store.audit.search({ eventPrefix: 'auth.mfa.locked' })).length === 1);
  await new Promise((r) => setTimeout(r, 6_500));
  assert.ok((await curl(f, `${PASSWORD}${await f.code()}`)).ok, 'lifted');
});

test('a user who needs MFA but has not enrolled is told which command fixes it', { timeout: 60_000 }, async (t) => {
  const f = await startMfaServer(t);
  await f.srv.addUser('newbie', { password: 'pw-newbie' });
  const script = `
import ftplib, ssl, sys
ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=sys.argv[2]), timeout=20)
ftp.connect('127.0.0.1', int(sys.argv[1]))
try:
    ftp.login('newbie', 'pw-newbie')
except ftplib.error_perm as e:
    print(e)
`;
  const r = await execFileAsync('python3', ['-c', script, String(f.srv.port('ftps (explicit)')), caOf(f)]);
  assert.match(r.stdout, /^530 .*portcullis mfa enroll newbie/);
});
