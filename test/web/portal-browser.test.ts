// The portal in Chromium (issue 16): a partner enrols from an invitation link, adds the public key
// of a key pair made with ssh-keygen on the keys page, and OpenSSH sftp logs in with that key and
// the code from the secret the page showed (SSH_ASKPASS answers the code prompt); then the partner
// changes the password in the browser and the old one stops working over SFTP. Screenshots of the
// keys and password pages go to docs/images/.
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { cliActor } from '../../src/admin/actor.ts';
import { createAdminServices } from '../../src/admin/services.ts';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { screenshotPath, startBrowser } from '../helpers/browser.ts';
import { execFileAsync, makeTempDir } from '../helpers/server.ts';
import { ssh2PasswordAndCode } from '../mfa/helpers.ts';
import { run, SSH_OPTS } from '../sftp/helpers.ts';
import { startWebServer } from './helpers.ts';

const PASSWORD = 'partner-password-2026';
const NEW_PASSWORD = 'partner-password-2027';

test('portal in Chromium: enrol, add an SSH key, OpenSSH sftp with that key and the code, change the password', { timeout: 180_000 }, async (t) => {
  const f = await startWebServer(t);
  const core = f.srv.server.core;
  const dir = await makeTempDir(t);
  const sftpPort = f.srv.port('sftp');
  await f.srv.addUser('partner', { invited: true });
  const services = createAdminServices({ store: core.store, audit: core.audit, config: core.config, sessions: { list: async () => [], kill: async () => Promise.reject(new Error('not in this test')) } });
  const inv = await services.invitations.create('partner', 7, new Date(), cliActor());

  const browser = await startBrowser(t);
  const page = await (await browser.newContext({ viewport: { width: 1024, height: 760 } })).newPage();
  await page.goto(`${f.portalUrl}/enrol/${inv.token}`);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('The same again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.waitForURL(`${f.portalUrl}/enrol/mfa`);
  const secret = (await page.locator('#totp-secret').textContent())!;
  await page.getByLabel(/6-digit code/).fill(currentCode(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('link', { name: 'Continue to your account' }).click();

  // --- a key pair made by OpenSSH; its public half pasted on the keys page ---------------------
  const key = path.join(dir, 'id_ed25519');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'partner@laptop', '-f', key]);
  await page.getByRole('link', { name: 'SSH keys' }).click();
  await page.getByLabel(/Add a public key/).fill((await readFile(`${key}.pub`, 'utf8')).trim());
  await page.getByRole('button', { name: 'Add key' }).click();
  await page.waitForURL(/\/keys\?done=key-added$/);
  assert.match((await page.locator('main table').textContent())!, /partner@laptop/);
  await page.screenshot({ path: screenshotPath('portal-keys.png'), fullPage: true });

  const askpass = path.join(dir, 'askpass.sh');
  await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' "$CODE"\n`);
  await chmod(askpass, 0o700);
  const sftp = (code: string) =>
    run('sftp', [...SSH_OPTS, '-o', 'PreferredAuthentications=publickey,keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1', '-o', 'IdentitiesOnly=yes', '-i', key, '-P', String(sftpPort), 'partner@127.0.0.1'], {
      env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'x', CODE: code },
      input: 'mkdir from-openssh\nls\nbye\n',
    });
  const wrong = await sftp('000000');
  assert.notEqual(wrong.code, 0, 'the key with a wrong code is refused');
  const ok = await sftp(currentCode(secret));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /from-openssh/);

  // --- the password, changed in the browser ----------------------------------------------------
  await page.getByRole('link', { name: 'Password' }).click();
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('Code from your app').fill(currentCode(secret));
  await page.getByLabel(/New password/).fill(NEW_PASSWORD);
  await page.getByLabel('The same again').fill(NEW_PASSWORD);
  await page.screenshot({ path: screenshotPath('portal-password.png'), fullPage: true });
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(/\/\?done=password$/);
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: PASSWORD, code: currentCode(secret) }), false, 'the old password is refused');
  assert.equal(await ssh2PasswordAndCode({ port: sftpPort, user: 'partner', password: NEW_PASSWORD, code: currentCode(secret) }), true, 'the new password works');
});
