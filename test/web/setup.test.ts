// The first admin through the one-time setup token printed at start (web/admin-setup.ts): in
// Chromium (the page, the QR code and secret, then a normal password + code sign-in), and over raw
// HTTP the attacks: a wrong token (audited, scored), a cross-site form, a second use, and the page
// closing once any admin exists.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { screenshotPath, startBrowser } from '../helpers/browser.ts';
import { ADMIN_PASSWORD, auditHas, codeAt, signInAdmin, startWebServer, WebClient, type WebFixture } from './helpers.ts';

/** Starts the server and reads the setup token from what it prints on standard error. */
async function startCapturingToken(t: TestContext): Promise<{ f: WebFixture; token: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let printed = '';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    printed += String(chunk);
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  let f: WebFixture;
  try {
    f = await startWebServer(t);
  } finally {
    process.stderr.write = write;
  }
  const m = /one-time setup token:\n {2}([A-Za-z0-9_-]{43})\n/.exec(printed);
  assert.ok(m, `a setup token was printed: ${printed.slice(0, 400)}`);
  return { f, token: m[1]! };
}

test('first admin in Chromium with the setup token printed at start, then a password + code sign-in', { timeout: 120_000 }, async (t) => {
  const { f, token } = await startCapturingToken(t);
  const browser = await startBrowser(t);
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${f.adminUrl}/ui/setup`);
  await page.getByLabel('Setup token').fill(token);
  await page.getByLabel('Admin name').fill('first');
  await page.getByLabel(/^Password/).fill(ADMIN_PASSWORD);
  await page.screenshot({ path: screenshotPath('web-admin-setup.png') });
  await page.getByRole('button', { name: 'Create admin' }).click();
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Admin first created');
  assert.ok(await page.getByRole('img', { name: /QR code/ }).isVisible());
  const secret = (await page.locator('#totp-secret').textContent())!;
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  assert.deepEqual((await f.admins.list()).map((a) => [a.name, a.role]), [['first', 'full']]);

  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Admin name').fill('first');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel(/6-digit code/).fill(codeAt(secret));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${f.adminUrl}/ui/`);
  // the setup page is gone for good
  const closed = await page.goto(`${f.adminUrl}/ui/setup`);
  assert.equal(closed?.status(), 404);
  await auditHas(f, 'admin.', (rs) => rs.some((r) => r.user === 'first' || JSON.stringify(r).includes('setup-token')), 'the creation is audited with the setup actor');
});

test('setup token attacks: wrong token audited, cross-site refused, one use only, closed once an admin exists', { timeout: 60_000 }, async (t) => {
  const { f, token } = await startCapturingToken(t);
  const c = new WebClient(f.adminUrl);
  assert.equal((await c.get('/ui/setup')).status, 200);

  const wrong = await c.post('/ui/setup', { token: 'A'.repeat(43), name: 'mallory', password: ADMIN_PASSWORD });
  assert.equal(wrong.status, 401);
  await auditHas(f, 'auth.failed', (rs) => rs.some((r) => (r as { method?: string }).method === 'setup-token'), 'a wrong token is a failed login');
  assert.equal((await c.post('/ui/setup', { token, name: 'mallory', password: ADMIN_PASSWORD }, { origin: 'https://evil.example' })).status, 403, 'cross-site form');
  assert.equal((await c.post('/ui/setup', { token, name: 'mallory', password: ADMIN_PASSWORD }, { 'sec-fetch-site': 'cross-site' })).status, 403, 'cross-site fetch');
  assert.equal(await f.admins.count(), 0, 'nothing was created');

  // a rejected form keeps the (right) token usable; a good one spends it
  assert.equal((await c.post('/ui/setup', { token, name: 'first', password: 'short' })).status, 400);
  const ok = await c.post('/ui/setup', { token, name: 'first', password: ADMIN_PASSWORD });
  assert.equal(ok.status, 200, ok.body.slice(0, 300));
  const secret = /id="totp-secret">([A-Z2-7]+)</.exec(ok.body)![1]!;
  const reuse = await c.post('/ui/setup', { token, name: 'second', password: ADMIN_PASSWORD });
  assert.equal(reuse.status, 404, 'the token works once');
  assert.deepEqual((await f.admins.list()).map((a) => a.name), ['first']);
  // the new admin still needs its code, like any other
  assert.equal((await c.get('/ui/users')).status, 303, 'setup signs nobody in');
  await signInAdmin(c, 'first', secret);
  assert.equal((await c.get('/ui/users')).status, 200);
});

test('no setup page when an admin exists at start (created from the CLI)', { timeout: 60_000 }, async (t) => {
  const { f } = await startCapturingToken(t);
  await f.createAdmin('root');
  const c = new WebClient(f.adminUrl);
  assert.equal((await c.get('/ui/setup')).status, 404);
  assert.equal((await c.post('/ui/setup', { token: 'x', name: 'y', password: ADMIN_PASSWORD })).status, 404);
});
