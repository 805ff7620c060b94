// `portcullis migrate iis --apply` end to end: import an IIS configuration into a running server,
// run it twice (the second run changes nothing), redeem one invitation, and log in over SFTP
// (OpenSSH) and FTPS (Python ftplib) as the imported user with the permissions IIS gave them.
import assert from 'node:assert/strict';
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ApplyResult } from '../../src/migrate/iis-apply.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir, startTestServer } from '../helpers/server.ts';
import { requireBinary, run, SSH_OPTS } from '../sftp/helpers.ts';
import { ADMINISTRATION_CONFIG, applicationHost } from './iis-config-fixtures.ts';

const FTPS_CHECK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ftps_user_check.py');
const NEW_PASSWORD = 'carol-sets-her-own 9!';

void test('import, apply twice (idempotent), redeem one invitation, log in over SFTP and FTPS read-only as IIS allowed', { timeout: 180_000 }, async (t) => {
  await requireBinary('sftp', 'openssh-client');
  await requireBinary('python3', 'python3');
  const srv = await startTestServer(t);
  const dir = await makeTempDir(t);
  const app = path.join(dir, 'applicationHost.config');
  const admin = path.join(dir, 'administration.config');
  await writeFile(app, applicationHost());
  await writeFile(admin, ADMINISTRATION_CONFIG);
  const cfg = path.join(dir, 'portcullis.yaml');
  await writeFile(cfg, `dataDir: ${JSON.stringify(srv.dataDir)}\nmfa:\n  required: false\n`);
  const cli = (args: string[], stdin?: string) => runCli([...args, '--config', cfg], { cwd: dir, ...(stdin !== undefined && { stdin }) });
  const importArgs = ['migrate', 'iis', app, '--admin-config', admin, '--site', 'Partners', '--apply', '--format', 'json'];

  const first = await cli(importArgs);
  assert.equal(first.code, 0, first.stderr);
  const r1 = JSON.parse(first.stdout) as ApplyResult;
  assert.deepEqual(r1.created.map((c) => [c.name, c.access]), [
    ['alice', 'read-write'],
    ['bob', 'read-write'],
    ['carol', 'read-only'],
    ['dave', 'read-only'],
    ['erin', 'write-only'],
    ['mgr1', 'read-write'],
  ]);
  for (const c of r1.created) assert.match(c.token, /^pci_[A-Za-z0-9_-]{32}$/);
  const users = JSON.parse((await cli(['user', 'list', '--json'])).stdout) as { name: string; password: boolean; permissions: string[]; home: string }[];
  const carolRow = users.find((u) => u.name === 'carol')!;
  assert.equal(carolRow.password, false, 'created without a password');
  assert.deepEqual(carolRow.permissions, ['list', 'download']);
  assert.equal(carolRow.home, path.join(srv.dataDir, 'home', 'carol'));
  assert.deepEqual(users.find((u) => u.name === 'erin')!.permissions, ['upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir']);
  // SECURITY: the store keeps a keyed hash of each token, never the token.
  const db = await readFile(path.join(srv.dataDir, 'portcullis.db'));
  for (const c of r1.created) assert.ok(!db.includes(Buffer.from(c.token)), 'token in the database');

  // Idempotent: the second run creates nothing, invites no one, and changes no user.
  const second = await cli(importArgs);
  assert.equal(second.code, 0, second.stderr);
  const r2 = JSON.parse(second.stdout) as ApplyResult;
  assert.deepEqual(r2.created, []);
  assert.deepEqual(r2.differing, []);
  assert.deepEqual(r2.unchanged, ['alice', 'bob', 'carol', 'dave', 'erin', 'mgr1']);
  assert.deepEqual(JSON.parse((await cli(['user', 'list', '--json'])).stdout), users);

  // Before the invitation is redeemed carol cannot log in (she has no password).
  const home = path.join(srv.dataDir, 'home', 'carol');
  await mkdir(home, { recursive: true });
  await writeFile(path.join(home, 'hello.txt'), 'from IIS\n');
  const sftpPort = srv.port('sftp');
  const askpass = async (password: string) => {
    const file = path.join(dir, `askpass-${password.length}.sh`);
    await writeFile(file, `#!/bin/sh\nprintf '%s\\n' '${password.replace(/'/g, "'\\''")}'\n`);
    await chmod(file, 0o700);
    return { SSH_ASKPASS: file, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'x' };
  };
  const sftpArgs = [...SSH_OPTS, '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-P', String(sftpPort), 'carol@127.0.0.1'];
  const before = await run('sftp', sftpArgs, { env: await askpass(NEW_PASSWORD), input: 'ls\n' });
  assert.notEqual(before.code, 0);

  // Redeem carol's invitation; the token works once.
  const token = r1.created.find((c) => c.name === 'carol')!.token;
  const accept = await cli(['invite', 'accept', token, '--password-stdin'], `${NEW_PASSWORD}\n`);
  assert.equal(accept.code, 0, accept.stderr);
  assert.match(accept.stdout, /password set for carol/);
  const again = await cli(['invite', 'accept', token, '--password-stdin'], 'another one\n');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /\[ERR_INVITE_INVALID\]/);
  const forged = await cli(['invite', 'accept', `pci_${'A'.repeat(32)}`, '--password-stdin'], 'x\n');
  assert.match(forged.stderr, /\[ERR_INVITE_INVALID\]/);

  // SFTP (OpenSSH): carol downloads; her upload is refused and nothing lands on disk.
  const local = path.join(dir, 'got.txt');
  await writeFile(path.join(dir, 'up.txt'), 'should not land\n');
  const s = await run('sftp', sftpArgs, { env: await askpass(NEW_PASSWORD), input: `get hello.txt ${local}\nput ${path.join(dir, 'up.txt')} up.txt\nbye\n`, cwd: dir });
  assert.equal(await readFile(local, 'utf8'), 'from IIS\n', s.stderr);
  assert.match(s.stderr, /Permission denied/);
  await assert.rejects(access(path.join(home, 'up.txt')), { code: 'ENOENT' });

  // FTPS (Python ftplib): the same.
  const f = await run('python3', [FTPS_CHECK, String(srv.port('ftps (explicit)')), 'carol', NEW_PASSWORD, path.join(srv.dataDir, 'tls', 'cert.pem')]);
  assert.equal(f.code, 0, f.stderr);
  const out = JSON.parse(f.stdout) as { login: string; download: string; upload: string };
  assert.match(out.login, /^230/);
  assert.equal(out.download, 'from IIS\n');
  assert.match(out.upload, /^5\d\d /);
  await assert.rejects(access(path.join(home, 'up.txt')), { code: 'ENOENT' });
});

void test('invitations: an expired one and a replaced one are refused like an unknown one; the audit says which', async (t) => {
  const { Store } = await import('../../src/store/store.ts');
  const { Audit } = await import('../../src/audit/audit.ts');
  const { SecretBox } = await import('../../src/auth/mfa/secret-box.ts');
  const { UserService } = await import('../../src/admin/user-service.ts');
  const { cliActor } = await import('../../src/admin/actor.ts');
  const { InvitationService } = await import('../../src/users/invitations.ts');
  const dir = await makeTempDir(t);
  const store = await Store.open({ driver: 'sqlite', url: path.join(dir, 'p.db') });
  t.after(() => store.close());
  const audit = new Audit();
  const events: { type: string; reason?: string }[] = [];
  t.after(audit.subscribe((e) => events.push(e)));
  const users = new UserService(store, audit, dir);
  const invites = new InvitationService(store, audit, SecretBox.fromKey(Buffer.alloc(32, 7)), users);
  await users.create(cliActor(), 'zoe', { invited: true });
  const old = await invites.create('zoe', 1, new Date(Date.now() - 2 * 86_400_000));
  await assert.rejects(invites.accept(old.token, 'pw-123456'), { code: 'ERR_INVITE_INVALID' });
  const first = await invites.create('zoe', 14);
  const second = await invites.create('zoe', 14);
  await assert.rejects(invites.accept(first.token, 'pw-123456'), { code: 'ERR_INVITE_INVALID' }, 'a new invitation replaces the old one');
  assert.deepEqual(events.filter((e) => e.type === 'user.invitation.refused').map((e) => e.reason), ['expired', 'expired']);
  await invites.accept(second.token, 'pw-123456');
  assert.notEqual((await store.users.require('zoe')).passwordHash, null);
  await assert.rejects(invites.create('zoe', 0), { code: 'ERR_INVITE_INVALID' });
});

void test('--apply with --logs --user-allow-lists sets per-user networks; a user already there with other settings is reported, never changed', async (t) => {
  const dir = await makeTempDir(t);
  const app = path.join(dir, 'applicationHost.config');
  await writeFile(app, applicationHost());
  const logs = path.join(dir, 'logs');
  const { writeIisLogs } = await import('./iis-log-fixtures.ts');
  writeIisLogs(logs);
  const cfg = path.join(dir, 'portcullis.yaml');
  await writeFile(cfg, 'dataDir: ./data\n');
  const cli = (args: string[], stdin?: string) => runCli([...args, '--config', cfg], { cwd: dir, ...(stdin !== undefined && { stdin }) });
  // an operator created bob before the import, read-only
  assert.equal((await cli(['user', 'add', 'bob', '--read-only', '--password-stdin'], 'bobs-own-pass\n')).code, 0);
  const r = await cli(['migrate', 'iis', app, '--site', 'Partners', '--logs', logs, '--user-allow-lists', '--apply', '--format', 'json', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as ApplyResult;
  assert.deepEqual(result.differing, [{ name: 'bob', differences: [`permissions list,download (plan: read-write)`, 'allow-from any (plan: 198.51.100.0/24)'] }]);
  assert.ok(result.created.some((c) => c.name === 'alice'));
  const { Store } = await import('../../src/store/store.ts');
  const store = await Store.open({ driver: 'sqlite', url: path.join(dir, 'data', 'portcullis.db') });
  t.after(() => store.close());
  assert.deepEqual((await store.users.require('alice')).allowedCidrs, ['203.0.113.0/24'], 'alice always came from 203.0.113.0/24');
  const bob = await store.users.require('bob');
  assert.deepEqual(bob.permissions, ['list', 'download'], "the operator's bob is left as he was");
  assert.deepEqual(bob.allowedCidrs, []);
  assert.notEqual(bob.passwordHash, null);
});
