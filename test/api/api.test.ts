// The REST API through real clients: a token made by the CLI, curl over HTTPS (the server's
// certificate verified), and the effect checked through the file protocols with OpenSSH sftp
// and curl FTPS.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { randomFile, MiB } from '../ftps/helpers.ts';
import { waitFor } from '../monitoring/helpers.ts';
import { requireBinary, run, SSH_OPTS } from '../sftp/helpers.ts';
import { startApi } from './helpers.ts';

const exec = promisify(execFile);

async function sshKey(dir: string, name: string): Promise<{ key: string; pub: string }> {
  const key = path.join(dir, name);
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', key]);
  return { key, pub: (await readFile(`${key}.pub`, 'utf8')).trim() };
}

test('a user created over the API logs in over SFTP (OpenSSH) and FTPS (curl); changes are audited with the token', async (t) => {
  await requireBinary('sftp', 'openssh-client');
  await requireBinary('curl', 'curl');
  const f = await startApi(t);
  const token = await f.token('provisioning', 'users:read,users:write');
  const { key, pub } = await sshKey(f.dir, 'id_partner');

  const created = await f.call('POST', '/v1/users', { token, json: { name: 'partner1', password: 'Partner-pw-1', publicKey: pub, home: 'partners/partner1' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const user = created.body as { name: string; home: string; password: boolean };
  assert.equal(user.home, path.join(f.srv.dataDir, 'home', 'partners', 'partner1'));
  assert.equal(user.password, true);
  assert.ok(!JSON.stringify(created.body).includes('argon2'), 'no hash in the reply');
  assert.equal((await f.call('POST', '/v1/users', { token, json: { name: 'partner1', password: 'x' } })).status, 409);

  // OpenSSH sftp with the key given over the API
  await mkdir(user.home, { recursive: true });
  const batch = path.join(f.dir, 'batch');
  await (await import('node:fs/promises')).writeFile(batch, 'mkdir from-sftp\nls\n');
  const sftp = await run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key, '-P', String(f.srv.port('sftp')), '-b', batch, 'partner1@127.0.0.1'], { cwd: f.dir });
  assert.equal(sftp.code, 0, sftp.stderr);
  assert.match(sftp.stdout, /from-sftp/);

  // FTPS (explicit, curl) with the password given over the API
  const ftps = await run('curl', ['-sS', '--fail', '--ssl-reqd', '--cacert', f.ca, '-u', 'partner1:Partner-pw-1', `ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}/`, '--list-only']);
  assert.equal(ftps.code, 0, ftps.stderr);
  assert.match(ftps.stdout, /from-sftp/);

  // change, read back, page, and a password change that takes effect
  const patched = await f.call('PATCH', '/v1/users/partner1', { token, json: { readOnly: true, maxSessions: 3, allowedCidrs: ['127.0.0.1'], accessHours: '' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.deepEqual((patched.body as { permissions: string[]; allowedCidrs: string[] }).permissions, ['list', 'download']);
  assert.deepEqual((patched.body as { allowedCidrs: string[] }).allowedCidrs, ['127.0.0.1/32']);
  assert.equal((await f.call('PUT', '/v1/users/partner1/password', { token, json: { password: 'Partner-pw-2' } })).status, 204);
  const oldPw = await run('curl', ['-sS', '--fail', '--ssl-reqd', '--cacert', f.ca, '-u', 'partner1:Partner-pw-1', `ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}/`, '--list-only']);
  assert.notEqual(oldPw.code, 0, 'the old password no longer works');
  for (const n of ['p2', 'p3', 'p4']) assert.equal((await f.call('POST', '/v1/users', { token, json: { name: n, password: 'pw-pw-pw' } })).status, 201);
  const first = (await f.call('GET', '/v1/users?limit=2', { token })).body as { items: { name: string }[]; next: string };
  const second = (await f.call('GET', `/v1/users?limit=2&cursor=${first.next}`, { token })).body as { items: { name: string }[]; next: string | null };
  assert.deepEqual([...first.items, ...second.items].map((u) => u.name), ['p2', 'p3', 'p4', 'partner1']);
  assert.equal(second.next, null);

  // keys and certificate pins
  const keys = (await f.call('GET', '/v1/users/partner1/keys', { token })).body as { items: { fingerprint: string }[] };
  assert.equal(keys.items.length, 1);
  const fp = keys.items[0]!.fingerprint;
  const pin = 'AB'.repeat(32);
  assert.equal((await f.call('POST', '/v1/users/partner1/certificates', { token, json: { fingerprint: pin } })).status, 201);
  assert.equal((await f.call('POST', '/v1/users/partner1/certificates', { token, json: { fingerprint: pin } })).status, 409);
  assert.equal((await f.call('DELETE', `/v1/users/partner1/certificates/${pin}`, { token })).status, 204);
  assert.equal((await f.call('DELETE', `/v1/users/partner1/keys/${encodeURIComponent(fp)}`, { token })).status, 204);
  const noKey = await run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key, '-P', String(f.srv.port('sftp')), '-b', batch, 'partner1@127.0.0.1'], { cwd: f.dir });
  assert.notEqual(noKey.code, 0, 'the removed key no longer logs in');
  assert.equal((await f.call('DELETE', '/v1/users/p4', { token })).status, 204);
  assert.equal((await f.call('GET', '/v1/users/p4', { token })).code, 'ERR_USER_NOT_FOUND');

  // the trail: each write with the token as actor, never a password
  await f.srv.server.core.trail?.flush();
  const trail = await readFile(path.join(f.srv.dataDir, 'audit', 'audit.jsonl'), 'utf8');
  const admin = trail
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; actor?: { kind: string; id: string }; protocol?: string; remoteAddress?: string })
    .filter((r) => r.event.startsWith('admin.user.'));
  assert.ok(admin.length >= 10);
  for (const r of admin) {
    assert.equal(r.actor!.kind, 'api-token', r.event);
    assert.match(r.actor!.id, /^provisioning\([0-9a-f]{16}\)$/);
    assert.equal(r.remoteAddress, '127.0.0.1');
  }
  assert.ok(!trail.includes('Partner-pw') && !trail.includes(token.slice(22)), 'no password or token secret in the trail');
});

test('a ban added over the API refuses the next connection (SFTP and the API itself)', async (t) => {
  const f = await startApi(t);
  const token = await f.token('ops', 'bans:read,bans:write');
  const { key, pub } = await sshKey(f.dir, 'id');
  await f.srv.addUser('alice', { password: 'pw-alice-1', keyFile: `${key}.pub` });
  void pub;
  const added = await f.call('POST', '/v1/bans', { token, json: { address: '127.0.0.1', minutes: 5, reason: 'test ban' } });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.equal((added.body as { source: string }).source, 'admin');
  const ssh = await run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=10', '-i', key, '-P', String(f.srv.port('sftp')), 'alice@127.0.0.1'], { cwd: f.dir, input: 'ls\n' });
  assert.notEqual(ssh.code, 0, 'the banned address cannot connect');
  const refused = await f.call('GET', '/v1/bans', { token });
  assert.equal(refused.status, 403);
  assert.equal(refused.code, 'ERR_ADMISSION_BANNED');
  // lifted from the CLI (the store), the server lets the address in again once it reloads
  assert.equal((await f.cli(['ban', 'remove', '127.0.0.1'])).code, 0);
  await waitFor('the ban lifted', async () => (await f.call('GET', '/v1/bans', { token })).status === 200);
});

test('a session killed over the API drops an OpenSSH sftp download', async (t) => {
  await requireBinary('sftp', 'openssh-client');
  const f = await startApi(t);
  const token = await f.token('ops', 'sessions:read,sessions:write');
  const reader = await f.token('viewer', 'sessions:read');
  const { key } = await sshKey(f.dir, 'id');
  await f.srv.addUser('alice', { password: 'pw-alice-1', keyFile: `${key}.pub` });
  const home = path.join(f.srv.dataDir, 'home', 'alice');
  await mkdir(home, { recursive: true });
  await randomFile(home, 'big.bin', 8 * MiB);
  const batch = path.join(f.dir, 'batch');
  await (await import('node:fs/promises')).writeFile(batch, 'get big.bin out.bin\n');
  const sftp = spawn('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key, '-l', '1600', '-P', String(f.srv.port('sftp')), '-b', batch, 'alice@127.0.0.1'], { cwd: f.dir, stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((r) => sftp.on('close', (code) => r(code)));
  t.after(() => sftp.kill('SIGKILL'));

  type S = { id: string; user: string | null; protocol: string; transfer: { bytes: number } | null };
  let sessions: S[] = [];
  await waitFor('an SFTP download in progress', async () => {
    sessions = ((await f.call('GET', '/v1/sessions', { token })).body as { items: S[] }).items;
    return sessions.some((s) => s.protocol === 'sftp' && (s.transfer?.bytes ?? 0) > 0);
  });
  const s = sessions.find((x) => x.protocol === 'sftp')!;
  assert.equal(s.user, 'alice');
  assert.equal((await f.call('DELETE', `/v1/sessions/${s.id}`, { token: reader })).status, 403, 'sessions:read cannot kill');
  const killed = await f.call('DELETE', `/v1/sessions/${s.id}`, { token });
  assert.equal(killed.status, 200, JSON.stringify(killed.body));
  assert.notEqual(await exited, 0, 'the client saw its connection end');
  await waitFor('the session to be gone', () => f.srv.server.core.sessions.size === 0, 5_000);
  await waitFor('the kill in the trail', async () => (await f.srv.server.core.store.audit.search({ eventPrefix: 'session.killed' })).length === 1);
  const [rec] = (await f.srv.server.core.store.audit.search({ eventPrefix: 'session.killed' })) as unknown as { by: string; actor: { kind: string }; protocol: string }[];
  assert.equal(rec!.by, 'admin');
  assert.equal(rec!.actor.kind, 'api-token');
  assert.equal(rec!.protocol, 'admin');
});

test('rules over the API: add, list beside the config file, remove; a deny rule for admin refuses the API', async (t) => {
  const f = await startApi(t, { access: { deny: ['198.51.100.0/24'] } });
  const token = await f.token('net', 'rules:read,rules:write');
  assert.equal((await f.call('POST', '/v1/rules/allow', { token, json: { cidr: '10.1.0.0/16', protocols: ['sftp'], comment: 'partners' } })).status, 201);
  assert.equal((await f.call('POST', '/v1/rules/allow', { token, json: { cidr: '10.1.0.0/16', protocols: ['sftp'] } })).status, 409);
  const deny = (await f.call('GET', '/v1/rules/deny', { token })).body as { items: { cidr: string; source: string }[] };
  assert.deepEqual(deny.items.map((r) => [r.cidr, r.source]), [['198.51.100.0/24', 'config']]);
  assert.equal((await f.call('DELETE', `/v1/rules/allow?cidr=${encodeURIComponent('10.1.0.0/16')}`, { token })).status, 204);
  assert.equal((await f.call('DELETE', `/v1/rules/allow?cidr=${encodeURIComponent('10.1.0.0/16')}`, { token })).code, 'ERR_POLICY_RULE_NOT_FOUND');
  assert.equal((await f.call('GET', '/v1/rules/maybe', { token })).status, 400);
  // deny 127.0.0.1 for the admin plane only: the API refuses (the running server reloads from the store)
  assert.equal((await f.call('POST', '/v1/rules/deny', { token, json: { cidr: '127.0.0.1', protocols: ['admin'] } })).status, 201);
  await waitFor('the deny rule applied', async () => (await f.call('GET', '/v1/health', { token })).code === 'ERR_ADMISSION_DENIED');
});

test('MFA, audit, posture and configuration over the API', async (t) => {
  const f = await startApi(t, { mfa: { required: true }, alerts: { webhook: { url: 'https://hooks.example/x', secret: 'webhook-secret-0123456789' } } });
  const users = await f.token('helpdesk', 'users:read,users:write');
  const auditor = await f.token('auditor', 'audit:read,posture:read,config:read');
  await f.srv.addUser('carol', { password: 'pw-carol-1' });
  // enrolment happens on the host with the user's device; the helpdesk sees it and can reset it
  const enroll = await f.cli(['mfa', 'enroll', 'carol', '--json']);
  assert.equal(enroll.code, 0, enroll.stderr);
  const { secret } = JSON.parse(enroll.stdout) as { secret: string };
  const { currentCode } = await import('../../src/auth/mfa/mfa-service.ts');
  assert.equal((await f.cli(['mfa', 'confirm', 'carol', currentCode(secret)])).code, 0);
  const status = await f.call('GET', '/v1/users/carol/mfa', { token: users });
  assert.deepEqual(status.body, { required: true, state: 'active', recoveryCodesLeft: 10, lockedUntil: null });
  const codes = await f.call('POST', '/v1/users/carol/mfa/recovery-codes', { token: users });
  assert.equal(codes.status, 201);
  assert.equal((codes.body as { recoveryCodes: string[] }).recoveryCodes.length, 10);
  const reset = await f.call('DELETE', '/v1/users/carol/mfa', { token: users });
  assert.deepEqual(reset.body, { required: true, state: 'none', recoveryCodesLeft: 0, lockedUntil: null });
  assert.equal((await f.call('GET', '/v1/users/carol/mfa', { token: auditor })).status, 403);

  // audit search: filters and cursor pages, newest first; verify
  await f.srv.server.core.trail?.flush();
  const p1 = (await f.call('GET', '/v1/audit?event=admin.&limit=1', { token: auditor })).body as { items: { event: string; actor: { kind: string } }[]; next: string };
  assert.equal(p1.items[0]!.event, 'admin.mfa.reset');
  assert.equal(p1.items[0]!.actor.kind, 'api-token');
  const p2 = (await f.call('GET', `/v1/audit?event=admin.&limit=1&cursor=${p1.next}`, { token: auditor })).body as { items: { event: string }[] };
  assert.equal(p2.items[0]!.event, 'admin.mfa.recovery-regenerated');
  const globbed = (await f.call('GET', '/v1/audit?event=admin.*.reset', { token: auditor })).body as { items: unknown[] };
  assert.equal(globbed.items.length, 1);
  assert.equal((await f.call('GET', '/v1/audit?since=yesterday', { token: auditor })).code, 'ERR_AUDIT_BAD_QUERY');
  assert.equal((await f.call('GET', '/v1/audit?cursor=abc', { token: auditor })).code, 'ERR_AUDIT_BAD_QUERY');
  const verify = await f.call('POST', '/v1/audit/verify', { token: auditor });
  assert.equal(verify.status, 200);
  assert.equal((verify.body as { ok: boolean }).ok, true);
  assert.equal((await f.call('GET', '/v1/audit', { token: users })).status, 403);

  // posture (configuration checks) and the effective configuration without secrets
  const posture = (await f.call('GET', '/v1/posture', { token: auditor })).body as { results: { id: string; status: string }[] };
  assert.equal(posture.results.find((r) => r.id === 'posture.admin-exposed')!.status, 'pass');
  const config = await f.call('GET', '/v1/config', { token: auditor });
  assert.equal((config.body as { admin: { enabled: boolean } }).admin.enabled, true);
  assert.ok(!JSON.stringify(config.body).includes('webhook-secret'), 'secrets are redacted');
  assert.match(JSON.stringify(config.body), /"secret":"\*\*\*"/);
});

test('the listener: plain HTTP only on loopback, an off-loopback address warned about at start', async (t) => {
  const { parseConfig } = await import('../../src/config/load.ts');
  assert.throws(() => parseConfig({ admin: { enabled: true, address: '0.0.0.0', tls: false } }), /plain HTTP \(tls: false\) is allowed only on a loopback address/);
  const plain = await startApi(t, { admin: { tls: false } });
  assert.match(plain.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const token = await plain.token('t', 'users:read');
  const r = await run('curl', ['-sS', '-H', `Authorization: Bearer ${token}`, `${plain.url}/v1/health`]);
  assert.equal(r.stdout, '{"status":"ok"}');
  const wide = await startApi(t, { admin: { address: '0.0.0.0' } });
  assert.ok(wide.srv.output.some((l) => /WARNING: admin\.address 0\.0\.0\.0 is not loopback/.test(l)), wide.srv.output.join('\n'));
  const posture = (await wide.call('GET', '/v1/posture', { token: await wide.token('p', 'posture:read') })).body as { results: { id: string; status: string; severity: string }[] };
  const exposed = posture.results.find((x) => x.id === 'posture.admin-exposed')!;
  assert.deepEqual([exposed.status, exposed.severity], ['fail', 'medium']);
});
