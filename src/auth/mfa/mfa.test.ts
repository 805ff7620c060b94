// MFA in the auth state machine, attacked: no single method completes the login; replay from
// another address; recovery codes single use; lockout after wrong codes and its expiry.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { Audit } from '../../audit/audit.ts';
import type { AuditRecord } from '../../audit/events.ts';
import { parseConfig } from '../../config/load.ts';
import type { ConnectionContext } from '../../net/connection.ts';
import { generateHostKeyPair } from '../../identity/identity.ts';
import { Store } from '../../store/store.ts';
import type { User } from '../../store/user-repository.ts';
import { cliActor } from '../../admin/actor.ts';
import { UserService } from '../../admin/user-service.ts';
import { AuthFlow } from '../auth-flow.ts';
import { RECOVERY_CODE, splitPasswordAndCode } from './codes.ts';
import { mfaPolicy } from './mfa-policy.ts';
import { currentCode, MfaService } from './mfa-service.ts';
import { SecretBox } from './secret-box.ts';

let dir: string;
let store: Store;
let now = Date.parse('2026-11-21T10:00:10Z');
const audit = new Audit();
const events: AuditRecord[] = [];
audit.subscribe((r) => events.push(r));
let mfa: MfaService;
let secret: string;
let recovery: string[];
let key: ssh2.ParsedKey;

const ctx = (address: string): ConnectionContext => ({ id: randomBytes(4).toString('hex'), protocol: 'sftp', remoteAddress: address, remotePort: 1, localAddress: '127.0.0.1', localPort: 2, startedAt: now });
const flow = (address = '127.0.0.2') => new AuthFlow({ store, audit, policy: mfaPolicy(mfa), maxAttempts: 10, mfa }, ctx(address));
const user = async (name: string): Promise<User> => store.users.require(name);
const code = () => currentCode(secret, now);

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mfa-test-'));
  store = await Store.open({ driver: 'sqlite', url: path.join(dir, 'db.sqlite') });
  mfa = new MfaService(store, audit, SecretBox.fromKey(randomBytes(32)), parseConfig({ mfa: { required: true } }).mfa, () => now);
  const pair = generateHostKeyPair('ed25519'); // ssh2's raw generator sometimes makes unreadable keys
  const parsed = ssh2.utils.parseKey(pair.private);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('key');
  key = parsed;
  await writeFile(path.join(dir, 'k.pub'), pair.public);
  const admin = new UserService(store, audit, dir);
  await admin.create(cliActor(), 'alice', { password: 'pw-alice', publicKey: readFileSync(path.join(dir, 'k.pub'), 'utf8') });
  await admin.create(cliActor(), 'newbie', { password: 'pw-newbie' });
  secret = (await mfa.enroll(await user('alice'))).secret;
  await assert.rejects(mfa.confirm(await user('alice'), '000000'), /not valid/);
  recovery = await mfa.confirm(await user('alice'), code());
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const signed = () => ({ algorithm: 'ssh-ed25519', blob: key.getPublicSSH(), signature: { data: Buffer.from('x'), signature: key.sign(Buffer.from('x')) } });

test('recovery codes: ten, distinct format from a 6-digit code', () => {
  assert.equal(recovery.length, 10);
  for (const c of recovery) assert.match(c, RECOVERY_CODE);
  assert.deepEqual(splitPasswordAndCode('secret123456'), { password: 'secret', code: '123456' });
  assert.deepEqual(splitPasswordAndCode(`pw${recovery[0]}`), { password: 'pw', code: recovery[0] });
  assert.equal(splitPasswordAndCode('nocode'), null);
});

test('no single method completes a login for a user who needs MFA', async () => {
  const f1 = flow();
  assert.deepEqual(await f1.password('alice', 'pw-alice'), { status: 'partial', next: ['totp'] });
  assert.ok(!f1.isAuthenticated);
  const f2 = flow();
  assert.deepEqual(await f2.publicKey('alice', signed()), { status: 'partial', next: ['totp'] });
  assert.ok(!f2.isAuthenticated);
  // A code alone is not even checked: no first factor, no code guessing, no lockout by strangers.
  const f3 = flow();
  const alone = await f3.secondFactor('alice', code());
  assert.ok(alone.status === 'failure' && alone.code === 'ERR_AUTH_METHOD_NOT_ALLOWED');
  assert.ok(!f3.isAuthenticated);
  // Key + code, password + code.
  assert.equal((await f2.secondFactor('alice', code())).status, 'success');
  assert.equal((await f1.secondFactor('alice', code())).status, 'success');
});

test('FTP style: PASS <password><code>; password alone fails like a wrong password', async () => {
  now += 30_000;
  const ok = flow();
  assert.equal((await ok.passwordWithCode('alice', `pw-alice${code()}`)).status, 'success');
  const noCode = await flow().passwordWithCode('alice', 'pw-alice');
  const wrongPw = await flow().passwordWithCode('alice', `wrong${code()}`);
  assert.equal(noCode.status, 'failure');
  assert.deepEqual(noCode, wrongPw, 'the reply never reveals whether the password was right');
});

test('replay: the same code from the same address is accepted (reconnects), from another refused', async () => {
  now += 30_000;
  const c = code();
  assert.equal((await flow('127.0.0.2').passwordWithCode('alice', `pw-alice${c}`)).status, 'success');
  assert.equal((await flow('127.0.0.2').passwordWithCode('alice', `pw-alice${c}`)).status, 'success', 'lftp/curl reconnect');
  events.length = 0;
  assert.equal((await flow('127.0.0.3').passwordWithCode('alice', `pw-alice${c}`)).status, 'failure');
  const replay = events.find((e) => e.event === 'auth.mfa.replayed');
  assert.ok(replay && 'firstAddress' in replay && replay.firstAddress === '127.0.0.2' && replay.remoteAddress === '127.0.0.3');
  // An expired code (two steps later) fails.
  const old = code();
  now += 90_000;
  assert.equal((await flow('127.0.0.2').passwordWithCode('alice', `pw-alice${old}`)).status, 'failure');
  await mfa.disable(await user('alice')); // reset failures for the next tests
  secret = (await mfa.enroll(await user('alice'))).secret;
  recovery = await mfa.confirm(await user('alice'), code());
});

test('a recovery code works once', async () => {
  now += 30_000;
  const f = flow();
  await f.password('alice', 'pw-alice');
  assert.equal((await f.secondFactor('alice', recovery[0]!.toLowerCase())).status, 'success');
  assert.ok(events.some((e) => e.event === 'mfa.recovery.used'));
  const again = flow();
  await again.password('alice', 'pw-alice');
  assert.equal((await again.secondFactor('alice', recovery[0]!)).status, 'failure');
  assert.equal((await mfa.status(await user('alice'))).recoveryCodesLeft, 9);
});

test('five wrong codes lock every login for 15 minutes, then it lifts', async () => {
  now += 30_000;
  await store.mfa.unlock((await user('alice')).id); // forget the failures of earlier tests
  events.length = 0;
  for (let i = 0; i < 4; i++) assert.equal((await flow().passwordWithCode('alice', 'pw-alice000000')).status, 'failure');
  assert.equal((await flow().passwordWithCode('alice', `pw-alice${code()}`)).status, 'success', 'four wrong codes do not lock');
  assert.equal((await flow().passwordWithCode('alice', 'pw-alice000001')).status, 'failure');
  assert.ok(events.some((e) => e.event === 'auth.mfa.locked'));
  const locked = await flow().passwordWithCode('alice', `pw-alice${code()}`);
  const wrong = await flow().passwordWithCode('alice', `wrong-password${code()}`);
  assert.equal(locked.status, 'failure', 'locked: even a right password and code fail');
  assert.deepEqual(locked, wrong, 'and the reply is the one for a wrong password');
  now += 16 * 60_000;
  assert.equal((await flow().passwordWithCode('alice', `pw-alice${code()}`)).status, 'success', 'the lock lifts');
});

test('a user who needs MFA but has none is refused with the enrol command named', async () => {
  const r = await flow().password('newbie', 'pw-newbie');
  assert.ok(r.status === 'failure' && r.code === 'ERR_AUTH_MFA_NOT_ENROLLED' && r.close);
  const wrong = await flow().password('newbie', 'nope');
  assert.ok(wrong.status === 'failure' && wrong.code === 'ERR_AUTH_FAILED', 'a wrong password learns nothing');
  // Per-user override: optional.
  await store.users.update('newbie', { mfaRequired: false });
  assert.equal((await flow().password('newbie', 'pw-newbie')).status, 'success');
});
