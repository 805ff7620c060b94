import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import type { ConnectionContext } from '../net/connection.ts';
import { generateHostKeyPair } from '../identity/identity.ts';
import { Store } from '../store/store.ts';
import { cliActor } from '../admin/actor.ts';
import { UserService } from '../admin/user-service.ts';
import { AuthFlow, SINGLE_FACTOR_POLICY, type AuthPolicy } from './auth-flow.ts';

let dir: string;
let store: Store;
const audit = new Audit();
const events: AuditRecord[] = [];
audit.subscribe((r) => events.push(r));
let keyFile: string;
let privateKey: ssh2.ParsedKey;
let blob: Buffer;

const ctx: ConnectionContext = { id: 'c1', protocol: 'sftp', remoteAddress: '127.0.0.1', remotePort: 5000, localAddress: '127.0.0.1', localPort: 22, startedAt: Date.now() };
const flow = (policy: AuthPolicy = SINGLE_FACTOR_POLICY, maxAttempts = 3) => new AuthFlow({ store, audit, policy, maxAttempts }, ctx);

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'auth-test-'));
  store = await Store.open({ driver: 'sqlite', url: path.join(dir, 'db.sqlite') });
  const pair = generateHostKeyPair('ed25519'); // ssh2's raw generator sometimes makes unreadable keys
  const priv = ssh2.utils.parseKey(pair.private);
  if (priv instanceof Error || Array.isArray(priv)) throw new Error('key');
  privateKey = priv;
  blob = priv.getPublicSSH();
  keyFile = path.join(dir, 'id.pub');
  await writeFile(keyFile, `${pair.public} test`);
  const admin = new UserService(store, audit, dir);
  await admin.create(cliActor(), 'alice', { password: 'correct horse', publicKey: readFileSync(keyFile, 'utf8') });
  await admin.create(cliActor(), 'carol', { password: 'pw-carol' });
  await store.users.update('carol', { disabled: true });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const signed = (data: Buffer) => ({ algorithm: 'ssh-ed25519', blob, signature: { data, signature: privateKey.sign(data) } });

describe('single factor', () => {
  test('the right password completes the login and is audited without the password', async () => {
    events.length = 0;
    const f = flow();
    const r = await f.password('alice', 'correct horse');
    assert.equal(r.status, 'success');
    assert.ok(f.isAuthenticated);
    assert.equal(f.user?.name, 'alice');
    const ev = events.find((e) => e.event === 'auth.succeeded');
    assert.deepEqual(ev && 'methods' in ev ? ev.methods : null, ['password']);
    assert.ok(!JSON.stringify(events).includes('correct horse'));
  });

  test('unknown user and wrong password give the same reply, distinct audit reasons', async () => {
    events.length = 0;
    const a = await flow().password('alice', 'wrong');
    const b = await flow().password('nobody', 'wrong');
    const c = await flow().password('carol', 'pw-carol');
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    const reasons = events.filter((e) => e.event === 'auth.failed').map((e) => ('reason' in e ? e.reason : ''));
    assert.deepEqual(reasons, ['bad-credentials', 'unknown-user', 'disabled']);
  });

  test('a public key signature completes the login; a bad signature does not', async () => {
    const f = flow();
    assert.equal(await f.publicKeyAcceptable('alice', 'ssh-ed25519', blob), true);
    assert.equal(await f.publicKeyAcceptable('nobody', 'ssh-ed25519', blob), false);
    const bad = signed(Buffer.from('data'));
    bad.signature.data = Buffer.from('other data');
    assert.equal((await f.publicKey('alice', bad)).status, 'failure');
    assert.equal((await f.publicKey('alice', signed(Buffer.from('session data')))).status, 'success');
  });

  test('an unsigned key query never authenticates', async () => {
    const f = flow();
    assert.equal((await f.publicKey('alice', { algorithm: 'ssh-ed25519', blob })).status, 'failure');
    assert.ok(!f.isAuthenticated);
  });

  test('the connection closes after the maximum number of failed steps', async () => {
    const f = flow(SINGLE_FACTOR_POLICY, 3);
    assert.equal((await f.password('alice', 'x')).status, 'failure');
    assert.equal((await f.password('alice', 'y')).status, 'failure');
    const third = await f.password('alice', 'z');
    assert.ok(third.status === 'failure' && third.close && third.code === 'ERR_AUTH_TOO_MANY_ATTEMPTS');
    // Even the right password is refused once closed.
    const after = await f.password('alice', 'correct horse');
    assert.ok(after.status === 'failure' && after.close);
  });
});

describe('two factors (the shape MFA plugs into)', () => {
  const both: AuthPolicy = { requiredFactorSets: () => [['password', 'publickey']] };

  test('no single method completes a login that needs two', async () => {
    const f = flow(both);
    const first = await f.password('alice', 'correct horse');
    assert.deepEqual(first, { status: 'partial', next: ['publickey'] });
    assert.ok(!f.isAuthenticated);
    const second = await f.publicKey('alice', signed(Buffer.from('x')));
    assert.equal(second.status, 'success');
    assert.deepEqual(second.status === 'success' && second.factors.sort(), ['password', 'publickey']);
  });

  test('repeating the same factor does not count twice', async () => {
    const f = flow(both);
    await f.password('alice', 'correct horse');
    const again = await f.password('alice', 'correct horse');
    assert.equal(again.status, 'failure');
    assert.ok(!f.isAuthenticated);
  });

  test('factors proven for one user never count for another', async () => {
    const f = flow(both);
    await f.password('alice', 'correct horse');
    const switched = await f.publicKey('bob', signed(Buffer.from('x')));
    assert.ok(switched.status === 'failure' && switched.code === 'ERR_AUTH_USER_CHANGED');
    assert.ok(!f.isAuthenticated);
  });
});
