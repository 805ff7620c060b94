// The web admin and portal attacked over raw HTTP (docs/web.md): CSRF, fixation, a cookie from
// another address, framing, open redirects, MFA bypass, role escalation, a portal session on
// admin routes, invitation reuse and expiry, login brute force (lockout and the defender), and
// CSV formula injection in the audit export. Each asserts the state afterwards, not only the reply.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliActor } from '../../src/admin/actor.ts';
import { TokenService } from '../../src/admin/token-service.ts';
import { COOKIE_NAME } from '../../src/web/web-sessions.ts';
import { ADMIN_PASSWORD, auditHas, codeAt, csrfOf, signInAdmin, startWebServer, WebClient } from './helpers.ts';

test('CSRF: a change without the session token, or from another origin, is refused and changes nothing', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('root');
  const c = new WebClient(f.adminUrl);
  const csrf = await signInAdmin(c, 'root', secret);
  const bans = () => f.srv.server.core.store.policy.activeBans();

  assert.equal((await c.post('/ui/bans', { address: '203.0.113.9', minutes: '60' })).status, 403, 'no token');
  assert.equal((await c.post('/ui/bans', { address: '203.0.113.9', minutes: '60', _csrf: 'x'.repeat(csrf.length) })).status, 403, 'wrong token');
  assert.equal((await c.post('/ui/bans', { address: '203.0.113.9', minutes: '60', _csrf: csrf }, { origin: 'https://evil.example' })).status, 403, 'cross origin');
  assert.equal((await c.post('/ui/bans', { address: '203.0.113.9', minutes: '60', _csrf: csrf }, { 'sec-fetch-site': 'cross-site' })).status, 403, 'cross site');
  assert.equal((await bans()).length, 0, 'no ban was made');
  await auditHas(f, 'web.request.refused', (rs) => rs.length >= 4, 'each refusal is audited');

  const ok = await c.post('/ui/bans', { address: '203.0.113.9', minutes: '60', _csrf: csrf }, { origin: f.adminUrl });
  assert.equal(ok.status, 303, ok.body.slice(0, 300));
  assert.deepEqual((await bans()).map((b: { address: string }) => b.address), ['203.0.113.9']);
});

test('session fixation: the id changes at each sign-in step and the earlier ids are dead', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('root');
  const c = new WebClient(f.adminUrl);
  // an id planted by an attacker is simply unknown
  c.cookies.set(COOKIE_NAME.admin, 'A'.repeat(43));
  assert.equal((await c.get('/ui/users')).status, 303);
  await c.post('/ui/login', { name: 'root', password: ADMIN_PASSWORD });
  const afterPassword = c.cookies.get(COOKIE_NAME.admin)!;
  assert.notEqual(afterPassword, 'A'.repeat(43));
  const codePage = await c.get('/ui/login/code');
  await c.post('/ui/login/code', { _csrf: csrfOf(codePage.body), code: codeAt(secret) });
  const signedIn = c.cookies.get(COOKIE_NAME.admin)!;
  assert.notEqual(signedIn, afterPassword, 'a new id once signed in');
  assert.equal((await c.get('/ui/users')).status, 200);
  const old = new WebClient(f.adminUrl);
  old.cookies.set(COOKIE_NAME.admin, afterPassword);
  const r = await old.get('/ui/users');
  assert.equal(r.status, 303, 'the pre-sign-in id opens nothing');
  assert.match(r.location ?? '', /^\/ui\/login/);
  assert.equal((await old.get('/ui/login/code')).status, 303, 'not even the code step: the id is gone, not just short of a factor');
});

test('a session cookie replayed from another address is refused, ends the session and is audited', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('root');
  const c = new WebClient(f.adminUrl, '127.0.0.1');
  await signInAdmin(c, 'root', secret);
  const thief = new WebClient(f.adminUrl, '127.0.0.2');
  thief.cookies.set(COOKIE_NAME.admin, c.cookies.get(COOKIE_NAME.admin)!);
  const stolen = await thief.get('/ui/users');
  assert.equal(stolen.status, 303, 'another address is sent to sign in');
  assert.equal((await c.get('/ui/users')).status, 303, 'policy: the session is ended for its owner too (sign in again)');
  await auditHas(f, 'auth.failed', (rs) => rs.some((r) => r.type === 'auth.failed' && r.method === 'web-session' && r.reason === 'address-not-allowed' && r.remoteAddress === '127.0.0.2'), 'the replay is audited');
});

test('pages cannot be framed, load nothing from elsewhere, and redirects stay on this server', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('root');
  for (const base of [f.adminUrl, f.portalUrl]) {
    const r = await new WebClient(base).get(base === f.adminUrl ? '/ui/login' : '/login');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
    assert.doesNotMatch(String(r.headers['content-security-policy']), /unsafe-inline/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.doesNotMatch(r.body, /<script>|style=|https?:\/\/(?!127\.0\.0\.1)/, 'no inline script or style, no external asset');
  }
  for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/ui/../../x', 'javascript:alert(1)', '/ui//evil.example']) {
    const c = new WebClient(f.adminUrl);
    await c.post('/ui/login', { name: 'root', password: ADMIN_PASSWORD, next });
    const page = await c.get(`/ui/login/code?next=${encodeURIComponent(next)}`);
    const r = await c.post('/ui/login/code', { _csrf: csrfOf(page.body), code: codeAt(secret, 0), next });
    assert.equal(r.status, 303);
    assert.equal(r.location, '/ui/', `next=${next} must fall back to /ui/`);
    await f.srv.server.core.store.db.updateTable('admins').set({ totp_last_step: 0 }).execute(); // let the same code serve the next round
  }
});

test('MFA cannot be skipped: after the password alone no page opens, and five wrong codes lock the account', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('root');
  const c = new WebClient(f.adminUrl);
  await c.post('/ui/login', { name: 'root', password: ADMIN_PASSWORD });
  for (const path of ['/ui/', '/ui/users', '/ui/audit', '/ui/settings']) {
    const r = await c.get(path);
    assert.equal(r.status, 303, path);
    assert.match(r.location ?? '', /^\/ui\/login/);
  }
  const codePage = await c.get('/ui/login/code');
  const csrf = csrfOf(codePage.body);
  assert.equal((await c.post('/ui/bans', { _csrf: csrf, address: '203.0.113.1' })).status, 401, 'a change with a password-only session');
  for (let i = 0; i < 5; i++) assert.equal((await c.post('/ui/login/code', { _csrf: csrf, code: '000000' })).status, 401);
  const locked = await c.post('/ui/login/code', { _csrf: csrf, code: codeAt(secret) });
  assert.equal(locked.status, 401, 'the right code fails while locked');
  const fresh = new WebClient(f.adminUrl);
  assert.equal((await fresh.post('/ui/login', { name: 'root', password: ADMIN_PASSWORD })).status, 401, 'locked for the password too');
  assert.equal((await f.srv.server.core.store.policy.activeBans()).length, 0);
});

test('an auditor reads but cannot change anything, and a portal session opens no admin page', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('watcher', 'auditor');
  const c = new WebClient(f.adminUrl);
  const csrf = await signInAdmin(c, 'watcher', secret);
  assert.equal((await c.get('/ui/audit')).status, 200);
  assert.equal((await c.post('/ui/bans', { _csrf: csrf, address: '203.0.113.5', minutes: '5' })).status, 403);
  assert.equal((await c.post('/ui/users', { _csrf: csrf, name: 'sneaky' })).status, 403);
  assert.equal(await f.srv.server.core.store.users.get('sneaky'), undefined);
  assert.equal((await f.srv.server.core.store.policy.activeBans()).length, 0);

  // a portal user's session cookie, presented to the admin plane under either cookie name
  await f.srv.addUser('partner', { password: 'partner-password-1' });
  await f.srv.server.core.store.users.update('partner', { mfaRequired: false });
  const p = new WebClient(f.portalUrl);
  assert.equal((await p.post('/login', { name: 'partner', password: 'partner-password-1' })).status, 303);
  const portalCookie = p.cookies.get(COOKIE_NAME.portal)!;
  assert.equal((await p.get('/')).status, 200, 'signed in to the portal');
  for (const name of [COOKIE_NAME.portal, COOKIE_NAME.admin]) {
    const a = new WebClient(f.adminUrl);
    a.cookies.set(name, portalCookie);
    const r = await a.get('/ui/users');
    assert.equal(r.status, 303, `portal cookie as ${name}`);
  }
});

test('invitation links work once and not after they expire; refusals are audited', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const core = f.srv.server.core;
  await f.srv.addUser('bob', { invited: true });
  const { createAdminServices } = await import('../../src/admin/services.ts');
  const services = createAdminServices({ store: core.store, audit: core.audit, config: core.config, sessions: { list: async () => [], kill: async () => Promise.reject(new Error('no')) } });
  const inv = await services.invitations.create('bob', 7, new Date(), cliActor());
  const c = new WebClient(f.portalUrl);
  const link = `/enrol/${inv.token}`;
  assert.equal((await c.get(link)).status, 200);
  assert.equal((await c.post(link, { password: 'bob-password-123', password2: 'bob-password-123' })).status, 303);
  const again = new WebClient(f.portalUrl);
  const reuse = await again.post(link, { password: 'mallory-password', password2: 'mallory-password' });
  assert.equal(reuse.status, 400);
  assert.match(reuse.body, /ERR_INVITE_INVALID/);
  assert.equal((await again.get(link)).status, 400);

  await f.srv.addUser('carol', { invited: true });
  const old = await services.invitations.create('carol', 1, new Date(Date.now() - 2 * 86_400_000), cliActor());
  const expired = await new WebClient(f.portalUrl).post(`/enrol/${old.token}`, { password: 'carol-password-1', password2: 'carol-password-1' });
  assert.equal(expired.status, 400);
  assert.equal((await core.store.users.get('carol'))!.passwordHash, null, 'no password was set from an expired link');
  await auditHas(f, 'user.invitation.refused', (rs) => rs.some((r) => r.type === 'user.invitation.refused' && r.reason === 'used') && rs.some((r) => r.type === 'user.invitation.refused' && r.reason === 'expired'), 'used and expired refusals are audited');
});

test('web login brute force: the defender bans the address on every plane', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t, { defender: { enabled: true } });
  await f.createAdmin('root');
  const c = new WebClient(f.adminUrl, '127.0.0.3');
  let banned = false;
  for (let i = 0; i < 60 && !banned; i++) {
    const r = await c.post('/ui/login', { name: i % 2 ? 'root' : `guess${i}`, password: `wrong-${i}` }).catch(() => ({ status: 0, body: '' }));
    banned = r.status === 403 || r.status === 0;
  }
  assert.ok(banned, 'banned within 60 guesses');
  const bans = await f.srv.server.core.store.policy.activeBans();
  assert.ok(bans.some((b: { address: string }) => b.address === '127.0.0.3'), JSON.stringify(bans));
  const portal = await new WebClient(f.portalUrl, '127.0.0.3').get('/login').catch(() => ({ status: 0 }));
  assert.notEqual(portal.status, 200, 'the portal refuses the banned address too');
  assert.equal((await new WebClient(f.adminUrl, '127.0.0.1').get('/ui/login')).status, 200, 'others are unaffected');
});

test('the audit CSV export needs re-authentication and neutralises formulas', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('root');
  // a failed login whose user name is a spreadsheet formula lands in the audit trail
  await new WebClient(f.adminUrl).post('/ui/login', { name: '=HYPERLINK("http://evil.example","x")', password: 'x' });
  const c = new WebClient(f.adminUrl);
  const csrf = await signInAdmin(c, 'root', secret);
  // signing in counts as a fresh proof for five minutes: age it, as if the admin had been idle-but-active since
  await f.srv.server.core.store.db.updateTable('web_sessions').set({ reauth_at: 0 }).execute();
  const first = await c.post('/ui/audit/export', { _csrf: csrf, event: 'auth.failed' });
  assert.equal(first.status, 303);
  assert.match(first.location ?? '', /^\/ui\/reauth/);
  const re = await c.post('/ui/reauth', { _csrf: csrf, password: ADMIN_PASSWORD, code: codeAt(secret, 1), next: '/ui/audit' });
  assert.equal(re.status, 303, re.body.slice(0, 300));
  const csv = await c.post('/ui/audit/export', { _csrf: csrf, event: 'auth.failed' });
  assert.equal(csv.status, 200);
  assert.match(String(csv.headers['content-disposition']), /^attachment;/);
  assert.match(csv.body, /HYPERLINK/);
  for (const line of csv.body.split('\r\n')) for (const cell of line.split(',')) assert.doesNotMatch(cell.replace(/^"/, ''), /^[=+@-]/, `unneutralised cell in: ${line}`);
  await auditHas(f, 'admin.export.', (rs) => rs.some((r) => r.type === 'admin.change' && r.resource === 'export' && r.actor.id === 'root'), 'the export is audited with the admin');
});

test('one verifier: an API token is no session cookie, and a session cookie is no API token', { timeout: 60_000 }, async (t) => {
  const f = await startWebServer(t);
  const secret = await f.createAdmin('root');
  const tokens = new TokenService(f.srv.server.core.store, f.srv.server.core.audit, f.srv.dataDir);
  const { token } = await tokens.create(cliActor(), 'ops', { scopes: ['users:read'] });
  const c = new WebClient(f.adminUrl);
  await signInAdmin(c, 'root', secret);
  const cookie = c.cookies.get(COOKIE_NAME.admin)!;

  // the token carried as the admin cookie opens no page
  const asCookie = new WebClient(f.adminUrl);
  asCookie.cookies.set(COOKIE_NAME.admin, token);
  const page = await asCookie.get('/ui/users');
  assert.equal(page.status, 303);
  assert.match(page.location ?? '', /^\/ui\/login/);
  // the page cookie carried as a bearer token opens no REST route, and is scored as a bad token
  const rest = await fetch(new URL('/v1/users', f.adminUrl), { headers: { authorization: `Bearer ${cookie}` } });
  assert.equal(rest.status, 401);
  await auditHas(f, 'auth.failed', (rs) => rs.some((r) => (r as { method?: string }).method === 'api-token'), 'the cookie used as a token is audited as a failed token');
  // and each still works where it belongs
  assert.equal((await fetch(new URL('/v1/users', f.adminUrl), { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.equal((await c.get('/ui/users')).status, 200);
});
