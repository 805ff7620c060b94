// The portal's self-service pages over raw HTTP, as a partner's browser would use them (issue 16):
// enrolment from an invitation, an SSH key added in the portal and then used over SFTP (with the
// code from the secret the portal showed), a password change and new recovery codes (both with
// re-authentication), and the attacks on them: hostile key comments and file names shown inert,
// and one partner's session acting on another partner's keys or reading their activity (IDOR).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import ssh2 from 'ssh2';
import { cliActor } from '../../src/admin/actor.ts';
import { createAdminServices, type AdminServices } from '../../src/admin/services.ts';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { ssh2PasswordAndCode } from '../mfa/helpers.ts';
import { auditHas, csrfOf, startWebServer, WebClient, type WebFixture } from './helpers.ts';

const XSS_COMMENT = '<script>window.__xss=3</script>';
const XSS_FILE = '<img src=x onerror=window.__xss=4>.txt';

function servicesOf(f: WebFixture): AdminServices {
  const core = f.srv.server.core;
  return createAdminServices({ store: core.store, audit: core.audit, config: core.config, sessions: { list: async () => [], kill: async () => Promise.reject(new Error('not in this test')) } });
}

interface Enrolled {
  client: WebClient;
  secret: string;
  recovery: string[];
}

/** An invited user follows their link: password, the secret shown next to the QR code, a code, recovery codes. */
async function enrol(f: WebFixture, name: string, password: string): Promise<Enrolled> {
  await f.srv.addUser(name, { invited: true });
  const inv = await servicesOf(f).invitations.create(name, 7, new Date(), cliActor());
  const client = new WebClient(f.portalUrl);
  assert.equal((await client.get(`/enrol/${inv.token}`)).status, 200);
  const set = await client.post(`/enrol/${inv.token}`, { password, password2: password });
  assert.equal(set.status, 303, set.body.slice(0, 300));
  const mfaPage = await client.get('/enrol/mfa');
  const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(mfaPage.body)?.[1];
  assert.ok(secret, 'the secret is shown as text beside the QR code');
  assert.match(mfaPage.body, /<svg[^>]*>/, 'the QR code is inline SVG (no external image, no script)');
  const done = await client.post('/enrol/mfa', { _csrf: csrfOf(mfaPage.body), code: currentCode(secret) });
  assert.equal(done.status, 200, done.body.slice(0, 300));
  const recovery = [...done.body.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1]!);
  assert.equal(recovery.length, 10, 'ten recovery codes, shown once');
  return { client, secret, recovery };
}

/** ssh2's client: a private key, then the code for keyboard-interactive; uploads `upload` if given. Logged in or not. */
function sftpWithKeyAndCode(o: { port: number; user: string; privateKey: string; code: string; upload?: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      c.end();
      resolve(ok);
    };
    const steps = ['publickey', 'keyboard-interactive'];
    c.on('ready', () => {
      if (!o.upload) return done(true);
      c.sftp((err, sftp) => {
        if (err) return done(false);
        const s = sftp.createWriteStream(`/${o.upload}`);
        s.on('close', () => done(true));
        s.on('error', () => done(false));
        s.end('hello');
      });
    });
    c.on('error', () => done(false));
    c.on('close', () => done(false));
    c.connect({
      host: '127.0.0.1',
      port: o.port,
      username: o.user,
      readyTimeout: 20_000,
      authHandler: (_left, _partial, next) => {
        const method = steps.shift();
        if (method === 'publickey') return next({ type: 'publickey', username: o.user, key: o.privateKey });
        if (method === 'keyboard-interactive') return next({ type: 'keyboard-interactive', username: o.user, prompt: (_n, _i, _l, prompts, fin) => fin(prompts.map(() => o.code)) });
        return next(false as unknown as ssh2.AuthenticationType);
      },
    });
  });
}

async function csrfFrom(c: WebClient, path: string): Promise<string> {
  return csrfOf((await c.get(path)).body);
}

async function startPortal(t: TestContext): Promise<WebFixture> {
  return startWebServer(t);
}

test('portal self-service: a key added in the portal logs in over SFTP with the code, the password changes, new recovery codes replace the old', { timeout: 120_000 }, async (t) => {
  const f = await startPortal(t);
  const sftpPort = f.srv.port('sftp');
  const { client: c, secret, recovery } = await enrol(f, 'partner', 'partner-password-2026');

  // --- a key, added in the portal; its comment is hostile and shown as text --------------------
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: XSS_COMMENT });
  assert.equal((await sftpWithKeyAndCode({ port: sftpPort, user: 'partner', privateKey: pair.private, code: currentCode(secret) })), false, 'the key is not known yet');
  const added = await c.post('/keys', { _csrf: await csrfFrom(c, '/keys'), publicKey: pair.public });
  assert.equal(added.status, 303, /ERR_[A-Z_]+[^<]*/.exec(added.body)?.[0] ?? added.body.slice(0, 300));
  const keys = await c.get('/keys');
  assert.doesNotMatch(keys.body, /<script>window\.__xss/, 'the key comment is not markup');
  assert.match(keys.body, /&lt;script&gt;window\.__xss=3&lt;\/script&gt;/, 'the key comment is shown as text');
  assert.equal(await sftpWithKeyAndCode({ port: sftpPort, user: 'partner', privateKey: pair.private, code: '000000' }), false, 'the key alone (with a wrong code) is refused');
  assert.equal(await sftpWithKeyAndCode({ port: sftpPort, user: 'partner', privateKey: pair.private, code: currentCode(secret), upload: XSS_FILE }), true, 'the key added in the portal + the code');

  // --- the transfer with a hostile file name is listed as text ---------------------------------
  await auditHas(f, 'file.', (rs) => rs.some((r) => JSON.stringify(r).includes('__xss=4')), 'the upload is in the audit trail');
  const account = await c.get('/');
  assert.equal(account.status, 200);
  assert.match(account.body, /&lt;img src=x onerror=window\.__xss=4&gt;\.txt/, 'the file name is shown as text');
  assert.doesNotMatch(account.body, /<img src=x/, 'the file name is not markup');

  // --- the password: re-authentication needed; the old one stops working everywhere ------------
  const wrong = await c.post('/password', { _csrf: await csrfFrom(c, '/password'), current: 'not-my-password', code: currentCode(secret), password: 'partner-new-password', password2: 'partner-new-password' });
  assert.notEqual(wrong.status, 303, 'a wrong current password changes nothing');
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: 'partner-password-2026', code: currentCode(secret) }), true, 'still the old password');
  const changed = await c.post('/password', { _csrf: await csrfFrom(c, '/password'), current: 'partner-password-2026', code: currentCode(secret), password: 'partner-new-password', password2: 'partner-new-password' });
  assert.equal(changed.status, 303, changed.body.slice(0, 300));
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: 'partner-password-2026', code: currentCode(secret) }), false, 'the old password is refused over SFTP');
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: 'partner-new-password', code: currentCode(secret) }), true, 'the new password over SFTP');

  // --- recovery codes: re-authentication needed; the new set replaces the old ------------------
  const refused = await c.post('/recovery', { _csrf: await csrfFrom(c, '/recovery'), current: 'partner-password-2026', code: currentCode(secret) });
  assert.notEqual(refused.status, 200, 'the old password does not re-authenticate');
  const fresh = await c.post('/recovery', { _csrf: await csrfFrom(c, '/recovery'), current: 'partner-new-password', code: currentCode(secret) });
  assert.equal(fresh.status, 200, fresh.body.slice(0, 300));
  const codes = [...fresh.body.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1]!);
  assert.equal(codes.length, 10);
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: 'partner-new-password', code: recovery[0]! }), false, 'an old recovery code is dead');
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: 'partner-new-password', code: codes[0]! }), true, 'a new recovery code works');
  await auditHas(f, 'admin.', (rs) => rs.some((r) => JSON.stringify(r).includes('portal') && JSON.stringify(r).includes('partner')), 'the self-service changes are audited with the portal user');
});

test('IDOR: a partner’s portal session neither removes another partner’s key nor reads their activity', { timeout: 120_000 }, async (t) => {
  const f = await startPortal(t);
  const sftpPort = f.srv.port('sftp');
  const bob = await enrol(f, 'bob', 'bob-password-2026');
  const mallory = await enrol(f, 'mallory', 'mallory-password-2026');

  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'bob@laptop' });
  assert.equal((await bob.client.post('/keys', { _csrf: await csrfFrom(bob.client, '/keys'), publicKey: pair.public })).status, 303);
  const services = servicesOf(f);
  const [bobKey] = await services.users.listKeys('bob');
  assert.ok(bobKey);
  assert.equal(await sftpWithKeyAndCode({ port: sftpPort, user: 'bob', privateKey: pair.private, code: currentCode(bob.secret), upload: 'bob-secret-plans.txt' }), true);
  await auditHas(f, 'file.', (rs) => rs.some((r) => JSON.stringify(r).includes('bob-secret-plans')), "bob's upload is in the audit trail");

  // mallory names bob's key, and bob as a parameter wherever one could be smuggled
  const csrf = await csrfFrom(mallory.client, '/keys');
  await mallory.client.post('/keys/remove', { _csrf: csrf, fingerprint: bobKey.fingerprint });
  await mallory.client.post('/keys/remove?user=bob', { _csrf: csrf, fingerprint: bobKey.fingerprint, user: 'bob', name: 'bob' });
  assert.deepEqual((await services.users.listKeys('bob')).map((k) => k.fingerprint), [bobKey.fingerprint], "bob's key is still there");
  for (const path of ['/', '/?user=bob', '/keys', '/keys?user=bob']) {
    const r = await mallory.client.get(path);
    assert.doesNotMatch(r.body, /bob-secret-plans|bob@laptop/, `${path} shows nothing of bob's`);
  }
  const own = await bob.client.get('/');
  assert.match(own.body, /bob-secret-plans/, 'bob sees his own transfer');
});

test('portal sign-in is the file protocols’ auth flow: the user’s hours and address rules hold, and a brute force is banned', { timeout: 120_000 }, async (t) => {
  const f = await startWebServer(t, { defender: { enabled: true } });
  const store = f.srv.server.core.store;
  const at = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  const now = new Date();
  const minute = now.getHours() * 60 + now.getMinutes();
  await f.srv.addUser('nightowl', { password: 'nightowl-password-1' });
  await store.users.update('nightowl', { mfaRequired: false, accessHours: `${at(minute + 120)}-${at(minute + 180)}` });
  const c = new WebClient(f.portalUrl);
  assert.equal((await c.post('/login', { name: 'nightowl', password: 'nightowl-password-1' })).status, 401, 'outside the user’s hours');
  assert.equal((await c.get('/')).status, 303, 'not signed in');
  await store.users.update('nightowl', { accessHours: '', deniedCidrs: ['127.0.0.0/8'] });
  assert.equal((await c.post('/login', { name: 'nightowl', password: 'nightowl-password-1' })).status, 401, 'from a denied address');
  await store.users.update('nightowl', { deniedCidrs: [] });
  assert.equal((await c.post('/login', { name: 'nightowl', password: 'nightowl-password-1' })).status, 303, 'allowed again');
  await auditHas(f, 'auth.failed', (rs) => rs.some((r) => r.protocol === 'portal' && (r as { reason?: string }).reason === 'outside-hours'), 'the refusal is audited with its reason');

  const guesser = new WebClient(f.portalUrl, '127.0.0.4');
  let banned = false;
  for (let i = 0; i < 60 && !banned; i++) {
    const r = await guesser.post('/login', { name: i % 2 ? 'nightowl' : `guess${i}`, password: `wrong-${i}` }).catch(() => ({ status: 0 }));
    banned = r.status === 403 || r.status === 0;
  }
  assert.ok(banned, 'banned within 60 guesses on the portal');
  assert.ok((await store.policy.activeBans()).some((b: { address: string }) => b.address === '127.0.0.4'));
  assert.equal((await new WebClient(f.portalUrl).get('/login')).status, 200, 'others are unaffected');
});

test('enrolment from an invitation ends signed in only where and when the user may sign in', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  await f.srv.addUser('remote', { invited: true });
  await f.srv.server.core.store.users.update('remote', { allowedCidrs: ['10.0.0.0/8'] });
  const inv = await servicesOf(f).invitations.create('remote', 7, new Date(), cliActor());
  const c = new WebClient(f.portalUrl);
  assert.equal((await c.post(`/enrol/${inv.token}`, { password: 'remote-password-1', password2: 'remote-password-1' })).status, 303);
  const mfaPage = await c.get('/enrol/mfa');
  const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(mfaPage.body)![1]!;
  const done = await c.post('/enrol/mfa', { _csrf: csrfOf(mfaPage.body), code: currentCode(secret) });
  assert.equal([...done.body.matchAll(/<li>([^<]+)<\/li>/g)].length, 10, 'the recovery codes are shown once anyway');
  for (const path of ['/', '/keys', '/password']) assert.equal((await c.get(path)).status, 303, `${path}: no session from an address outside the user's list`);
  await auditHas(f, 'auth.failed', (rs) => rs.some((r) => r.protocol === 'portal' && r.user === 'remote' && (r as { reason?: string }).reason === 'address-not-allowed'), 'the refusal is audited');
});
