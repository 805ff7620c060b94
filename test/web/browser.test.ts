// The web admin and the portal in real Chromium, the whole account lifecycle: an admin signs in
// with a TOTP code, creates a user and an invitation; the user follows the link in the portal,
// sets a password, scans (reads) the secret, confirms a code and gets recovery codes; then logs
// in over SFTP and FTPS with a code from that same secret. The admin sees and kills the live
// session, bans and lifts an address, searches the audit trail, where hostile names stay text.
// A page on another origin that posts a form to the admin is refused. Screenshots for docs/.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { screenshotPath, startBrowser } from '../helpers/browser.ts';
import { execFileAsync } from '../helpers/server.ts';
import { ssh2PasswordAndCode } from '../mfa/helpers.ts';
import { waitFor } from '../monitoring/helpers.ts';
import { ADMIN_PASSWORD, codeAt, startWebServer, WebClient } from './helpers.ts';

const PARTNER_PASSWORD = 'partner-password-2026';
const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_FILE = '<img src=x onerror=window.__xss=2>.txt';

/** An SFTP session that stays open (password + code), with a file upload; resolves when ready. */
function openSession(port: number, code: string): Promise<{ client: ssh2.Client; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const closed = new Promise<void>((r) => client.on('close', () => r()));
    client.on('error', reject);
    client.on('ready', () => {
      client.sftp((err, sftp) => {
        if (err) return reject(err);
        const s = sftp.createWriteStream(`/${XSS_FILE}`);
        s.on('error', reject);
        s.end('hello', () => resolve({ client, closed }));
      });
    });
    const steps = ['password', 'keyboard-interactive'];
    client.connect({
      host: '127.0.0.1',
      port,
      username: 'partner',
      readyTimeout: 20_000,
      authHandler: (_m, _p, next) => {
        const method = steps.shift();
        if (method === 'password') return next({ type: 'password', username: 'partner', password: PARTNER_PASSWORD });
        if (method === 'keyboard-interactive') return next({ type: 'keyboard-interactive', username: 'partner', prompt: (_n, _i, _l, prompts, fin) => fin(prompts.map(() => code)) });
        return next(false as unknown as ssh2.AuthenticationType);
      },
    });
  });
}

test('web admin and portal in Chromium: create, invite, enrol, SFTP and FTPS with the code, kill, ban and lift, audit search, hostile text inert, cross-site form refused', { timeout: 240_000 }, async (t) => {
  const f = await startWebServer(t);
  const core = f.srv.server.core;
  const secret = await f.createAdmin('root');
  // A failed sign-in whose name is markup: it reaches the dashboard and the audit trail.
  await new WebClient(f.adminUrl).post('/ui/login', { name: XSS_NAME, password: 'x' });

  const browser = await startBrowser(t);
  const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  admin.on('dialog', (d) => void d.accept());
  const requests: string[] = [];
  admin.on('request', (r) => requests.push(r.url()));

  // --- admin sign-in with password and TOTP -------------------------------------------------
  await admin.goto(`${f.adminUrl}/ui/users`);
  assert.match(admin.url(), /\/ui\/login\?next=%2Fui%2Fusers$/);
  await admin.screenshot({ path: screenshotPath('web-admin-login.png') });
  await admin.getByLabel('Admin name').fill('root');
  await admin.getByLabel('Password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Continue' }).click();
  await admin.getByLabel(/6-digit code/).fill(codeAt(secret));
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.waitForURL(`${f.adminUrl}/ui/users`);
  assert.equal(await admin.getByRole('heading', { level: 1 }).textContent(), 'Users');

  // --- create a user and an invitation --------------------------------------------------------
  await admin.getByLabel('Name', { exact: true }).fill('partner');
  await admin.getByRole('button', { name: 'Create', exact: true }).click();
  await admin.waitForURL(/\/ui\/users\/partner\?done=created$/);
  await admin.getByRole('button', { name: 'Create invitation link' }).click();
  const link = (await admin.locator('#invite-link').textContent())!;
  assert.match(link, new RegExp(`^${f.portalUrl}/enrol/pci_`));

  // --- the partner enrols in the portal --------------------------------------------------------
  const portal = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await portal.goto(link);
  assert.equal(await portal.getByRole('heading', { level: 1 }).textContent(), 'Welcome, partner');
  await portal.getByLabel('New password').fill(PARTNER_PASSWORD);
  await portal.getByLabel('The same again').fill(PARTNER_PASSWORD);
  await portal.getByRole('button', { name: 'Set password' }).click();
  await portal.waitForURL(`${f.portalUrl}/enrol/mfa`);
  assert.ok(await portal.getByRole('img', { name: /QR code/ }).isVisible(), 'the QR code is shown');
  const totp = (await portal.locator('#totp-secret').textContent())!;
  assert.match(totp, /^[A-Z2-7]{32}$/);
  await portal.screenshot({ path: screenshotPath('portal-enrol-mfa.png'), fullPage: true });
  await portal.getByLabel(/6-digit code/).fill(currentCode(totp));
  await portal.getByRole('button', { name: 'Confirm' }).click();
  assert.equal(await portal.locator('#recovery-codes li').count(), 10, 'ten recovery codes, once');
  await portal.screenshot({ path: screenshotPath('portal-recovery-codes.png'), fullPage: true });
  // The link is spent.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link);
  assert.match((await again.locator('main').textContent())!, /ERR_INVITE_INVALID/);

  // --- the same secret logs in over SFTP and FTPS ---------------------------------------------
  const sftpPort = f.srv.port('sftp');
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: PARTNER_PASSWORD, code: '000000' }), false, 'a wrong code is refused');
  const code = currentCode(totp);
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: PARTNER_PASSWORD, code }), true, 'SFTP with password + code');
  const ca = path.join(f.srv.dataDir, 'tls', 'cert.pem');
  const listing = await execFileAsync('curl', ['-sS', '--ssl-reqd', '--cacert', ca, '--max-time', '20', '-u', `partner:${PARTNER_PASSWORD}${code}`, `ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}/`, '-l']);
  assert.equal(listing.stdout, '', 'FTPS with password + code (an empty home)');

  // --- the admin sees the live session and kills it ----------------------------------------
  const live = await openSession(sftpPort, code);
  await admin.goto(`${f.adminUrl}/ui/sessions`);
  const row = admin.locator('tr', { hasText: 'partner' });
  await row.getByRole('button', { name: 'Kill' }).click();
  await admin.waitForURL(/done=killed/);
  await live.closed;
  await admin.screenshot({ path: screenshotPath('web-admin-sessions.png') });

  // --- ban an address and lift it ---------------------------------------------------------------
  await admin.goto(`${f.adminUrl}/ui/bans`);
  await admin.getByLabel('Ban an address or prefix').fill('203.0.113.50');
  await admin.getByLabel('Reason').fill('seen probing');
  await admin.getByRole('button', { name: 'Ban', exact: true }).click();
  await admin.waitForURL(/done=banned/);
  assert.deepEqual((await core.store.policy.activeBans()).map((b) => b.address), ['203.0.113.50']);
  await admin.screenshot({ path: screenshotPath('web-admin-bans.png') });
  await admin.locator('tr', { hasText: '203.0.113.50' }).getByRole('button', { name: 'Lift' }).click();
  await admin.waitForURL(/done=lifted/);
  assert.deepEqual(await core.store.policy.activeBans(), []);

  // --- search the audit trail; hostile names and file names stay text ---------------------------
  await waitFor('the upload is in the audit store', async () => (await core.store.audit.search({ user: 'partner', eventPrefix: 'file.', limit: 10 })).length > 0);
  await admin.goto(`${f.adminUrl}/ui/audit`);
  await admin.getByLabel('User').fill('partner');
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.waitForURL(/user=partner/);
  const auditText = (await admin.locator('table').textContent())!;
  assert.match(auditText, /auth\.succeeded/);
  assert.ok(auditText.includes(XSS_FILE), 'the file name is shown as text');
  await admin.screenshot({ path: screenshotPath('web-admin-audit.png') });
  await admin.goto(`${f.adminUrl}/ui/`);
  assert.ok((await admin.locator('main').textContent())!.includes(XSS_NAME), 'the hostile user name is shown as text');
  await admin.screenshot({ path: screenshotPath('web-admin-dashboard.png'), fullPage: true });
  assert.equal(await admin.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined, 'no injected script ran');
  assert.equal(await admin.locator('main img').count(), 0, 'no injected element');
  await admin.goto(`${f.adminUrl}/ui/users/partner`);
  await admin.screenshot({ path: screenshotPath('web-admin-user.png'), fullPage: true });

  // --- the portal shows the partner's own activity -----------------------------------------------
  await portal.goto(`${f.portalUrl}/`);
  assert.match((await portal.locator('main').textContent())!, /auth\.succeeded/);
  assert.equal(await portal.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined);
  await portal.screenshot({ path: screenshotPath('portal-account.png'), fullPage: true });

  // --- every request stayed on our two origins ---------------------------------------------------
  assert.deepEqual(requests.filter((u) => !u.startsWith(f.adminUrl) && !u.startsWith('http://localhost')), [], 'nothing loaded from elsewhere');

  // --- a page on another origin posts a form to the admin: refused (SameSite=Strict, Origin) ---
  const evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<form id="f" method="post" action="${f.adminUrl}/ui/bans"><input name="address" value="198.51.100.66"><input name="minutes" value="60"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => evil.close(() => r())));
  await admin.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
  await admin.waitForLoadState('load');
  await admin.waitForTimeout(500);
  assert.deepEqual(await core.store.policy.activeBans(), [], 'the cross-site form changed nothing');
});
