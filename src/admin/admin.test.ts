// The admin services alone: every write audited as admin.<resource>.<action> with the actor and
// a before/after view without secrets; homes of remote actors confined below DATADIR/home.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { parseConfig } from '../config/load.ts';
import { PortcullisError } from '../errors/index.ts';
import { Store } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { createAdminServices, type AdminServices } from './services.ts';

let dir: string;
let store: Store;
let services: AdminServices;
let auditBus: Audit;
const records: AuditRecord[] = [];
const api: Actor = { kind: 'api-token', id: 'ci(0123456789abcdef)', address: '192.0.2.7' };
const cli: Actor = { kind: 'cli', id: 'root', address: 'local' };

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-admin-'));
  store = await Store.open({ driver: 'sqlite', url: path.join(dir, 'p.db') });
  const audit = new Audit();
  auditBus = audit;
  audit.subscribe((r) => records.push(r));
  const config = parseConfig({ dataDir: dir });
  services = createAdminServices({ store, audit, config, sessions: { list: () => Promise.resolve([]), kill: () => Promise.reject(new Error('none')) } });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('user writes are audited with the actor, before/after, and never the password', async () => {
  records.length = 0;
  await services.users.create(api, 'alice', { password: 's3cret-pw', home: 'partners/alice' });
  await services.users.update(api, 'alice', { readOnly: true, maxSessions: 2 });
  await services.users.setPassword(cli, 'alice', 'an0ther-pw');
  await services.users.remove(api, 'alice');
  assert.deepEqual(
    records.map((r) => r.event),
    ['admin.user.added', 'admin.user.policy-changed', 'admin.user.password-changed', 'admin.user.removed'],
  );
  const [added, changed, pw] = records as (AuditRecord & { type: 'admin.change' })[];
  assert.deepEqual(added!.actor, { kind: 'api-token', id: 'ci(0123456789abcdef)' });
  assert.equal(added!.protocol, 'admin');
  assert.equal(added!.remoteAddress, '192.0.2.7');
  assert.equal(added!.after!.home, path.join(dir, 'home', 'partners', 'alice'));
  assert.deepEqual(changed!.before, { permissions: ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir', 'symlink', 'setstat'], readOnly: false, maxSessions: 0 });
  assert.deepEqual(changed!.after, { permissions: ['list', 'download'], readOnly: true, maxSessions: 2 });
  assert.equal(pw!.protocol, 'cli');
  assert.equal(pw!.remoteAddress, undefined);
  const text = JSON.stringify(records);
  assert.ok(!text.includes('s3cret-pw') && !text.includes('an0ther-pw') && !text.includes('argon2'), 'no password or hash in the trail');
});

test('a remote actor cannot put a home outside DATADIR/home; the operator at the CLI can', async () => {
  for (const home of ['/etc', '../../etc', 'a/../../b', 'C:\\Windows', 'x\u0000y', '..', './..', 'a/./../..']) {
    await assert.rejects(services.users.create(api, 'mallory', { password: 'pw', home }), { code: 'ERR_ADMIN_INVALID_HOME' }, home);
  }
  await services.users.create(api, 'bob', { password: 'pw' });
  await assert.rejects(services.users.update(api, 'bob', { home: '/root' }), { code: 'ERR_ADMIN_INVALID_HOME' });
  const u = await services.users.update(cli, 'bob', { home: '/srv/bob' });
  assert.equal(u.home, '/srv/bob');
});

test('rules and bans: audited writes, canonical addresses, ranges refused as bans', async () => {
  records.length = 0;
  await services.policy.addRule(api, 'deny', '198.51.100.0/24', ['sftp']);
  await assert.rejects(services.policy.addRule(api, 'deny', '198.51.100.0/24', ['sftp']), { code: 'ERR_POLICY_RULE_EXISTS' });
  await assert.rejects(services.policy.addRule(api, 'deny', '10.0.0.0/8', ['telnet']), { code: 'ERR_POLICY_INVALID_RULE' });
  await assert.rejects(services.policy.addBan(api, '203.0.113.0/24'), { code: 'ERR_POLICY_INVALID_RULE' });
  const ban = await services.policy.addBan(api, '203.0.113.9', { minutes: 5, reason: 'test' });
  assert.equal(ban.source, 'admin');
  assert.deepEqual((await services.policy.listBans()).map((b) => b.address), ['203.0.113.9']);
  await services.policy.liftBan(api, '203.0.113.9');
  await assert.rejects(services.policy.liftBan(api, '203.0.113.9'), { code: 'ERR_POLICY_NOT_BANNED' });
  assert.equal(await services.policy.removeRule(cli, 'deny', '198.51.100.0/24'), '198.51.100.0/24');
  assert.deepEqual(
    records.filter((r) => r.event.startsWith('admin.')).map((r) => r.event),
    ['admin.rule.added', 'admin.ban.added', 'admin.ban.lifted', 'admin.rule.removed'],
  );
});

test('tokens: shown once, stored as a keyed hash, verified with scope, expiry, revocation and source', async () => {
  records.length = 0;
  const { token, view } = await services.tokens.create(cli, 'ci', { scopes: ['users:read'], sources: ['127.0.0.1/32'] });
  assert.match(token, /^pct_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  const row = await store.tokens.byId(view.id);
  assert.ok(row && !row.mac.includes(token.slice(22)) && row.mac.length === 64);
  const p = await services.tokens.verify(token, '127.0.0.1');
  assert.deepEqual([...p.scopes], ['users:read']);
  assert.equal(p.actor.kind, 'api-token');
  await assert.rejects(services.tokens.verify(token, '192.0.2.1'), { code: 'ERR_API_UNAUTHENTICATED' });
  // One character of the secret changed (to a different one: the last character of 32 bytes in
  // base64url is one of 16, so a fixed replacement would sometimes be the original).
  const forged = `${token.slice(0, -1)}${token.endsWith('A') ? 'E' : 'A'}`;
  assert.notEqual(forged, token);
  await assert.rejects(services.tokens.verify(forged, '127.0.0.1'), { code: 'ERR_API_UNAUTHENTICATED' });
  await assert.rejects(services.tokens.verify('pct_0000000000000000_' + 'A'.repeat(43), '127.0.0.1'), { code: 'ERR_API_UNAUTHENTICATED' });
  await assert.rejects(services.tokens.create(cli, 'ci', { scopes: ['users:read'] }), { code: 'ERR_TOKEN_EXISTS' });
  await services.tokens.revoke(cli, 'ci');
  await assert.rejects(services.tokens.verify(token, '127.0.0.1'), { code: 'ERR_API_UNAUTHENTICATED' });
  const failed = records.filter((r) => r.type === 'auth.failed');
  assert.deepEqual(
    failed.map((r) => (r as { reason: string }).reason),
    ['address-not-allowed', 'bad-credentials', 'bad-credentials', 'bad-credentials'],
  );
  assert.ok(!JSON.stringify(records).includes(token.slice(22)), 'the secret never reaches the trail');
});

test('scans: a start is audited with the actor and its run id; history pages by cursor; unfinished runs are not diffed', async () => {
  records.length = 0;
  const { ScanService } = await import('./scan-service.ts');
  const report = (url: string) => ({ target: { url, scheme: 'ftp' as const, host: '192.0.2.1', port: 21 }, startedAt: new Date().toISOString(), durationMs: 1, reachable: true, results: [] });
  const selected: (string | undefined)[] = [];
  const runner = {
    select: (target: string | undefined) => {
      selected.push(target);
      if (target !== 'ftp://192.0.2.1:21') throw new PortcullisError('ERR_SCAN_TARGET_NOT_CONFIGURED', String(target));
      return [{ url: target, own: false, options: { timeoutMs: 1, targetTimeoutMs: 1, allow: new Set<never>(), ca: [] } }];
    },
    startRun: async (trigger: string) => ({ runId: await store.scans.beginRun({ kind: 'scan', trigger, node: 'n', startedAt: new Date().toISOString(), summary: { status: 'running', deadline: new Date(Date.now() + 60_000).toISOString() } }), done: Promise.resolve(null) }),
  };
  const scans = new ScanService(store, new Audit(), null);
  await assert.rejects(scans.start(api, 'ftp://192.0.2.1:21'), { code: 'ERR_CONTROL_UNAVAILABLE' }, 'the CLI does not start scans');
  const live = new ScanService(store, auditBus, runner);
  await assert.rejects(live.start(api, 'ftp://198.51.100.9:21'), { code: 'ERR_SCAN_TARGET_NOT_CONFIGURED' });
  const started = await live.start(api, 'ftp://192.0.2.1:21');
  assert.deepEqual([started.status, started.targets], ['running', ['ftp://192.0.2.1:21']]);
  assert.equal((await live.get(started.id)).status, 'running');
  const done = await store.scans.addRun({ kind: 'scan', trigger: 'schedule', node: 'n', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), summary: {}, results: [{ report: report('ftp://192.0.2.1:21'), failures: [] }, { report: report('ftp://192.0.2.2:21'), failures: [] }] });
  await assert.rejects(live.diff(done, started.id), { code: 'ERR_SCAN_IN_PROGRESS' });
  await store.scans.finishRun(started.id, { finishedAt: new Date().toISOString(), summary: { status: 'completed' }, results: [{ report: report('ftp://192.0.2.1:21'), failures: [{ id: 'x', severity: 'high', title: 'X' }] }] });
  assert.equal((await live.get(started.id)).status, 'completed');
  assert.deepEqual((await live.diff(done, started.id)).targets.map((d) => [d.target, d.new.length, d.before, d.after]), [['ftp://192.0.2.1:21', 1, done, started.id], ['ftp://192.0.2.2:21', 0, done, null]]);
  const rows: string[] = [];
  let cursor: string | undefined;
  do {
    const p = await live.page(undefined, 1, cursor);
    rows.push(...p.items.map((r) => `${r.runId} ${r.target}`));
    cursor = p.next ?? undefined;
  } while (cursor);
  // newest (by start: run id) first, then by target
  assert.deepEqual(rows, [`${done} ftp://192.0.2.1:21`, `${done} ftp://192.0.2.2:21`, `${started.id} ftp://192.0.2.1:21`]);
  await assert.rejects(live.page(undefined, 1, 'bm9wZQ'), { code: 'ERR_API_BAD_REQUEST' });
  const [rec] = records.filter((r) => r.event === 'admin.scan.started') as (AuditRecord & { type: 'admin.change' })[];
  assert.deepEqual([rec!.actor, rec!.subject, rec!.after], [{ kind: 'api-token', id: 'ci(0123456789abcdef)' }, String(started.id), { runId: started.id, targets: ['ftp://192.0.2.1:21'] }]);
  assert.equal(rec!.remoteAddress, '192.0.2.7');
  assert.deepEqual(selected, ['ftp://198.51.100.9:21', 'ftp://192.0.2.1:21']);
});

test('admin sign-in checks the password through the server check (throttle and queue), for unknown names too', async () => {
  const calls: { name: string; address: string; known: boolean }[] = [];
  const config = parseConfig({ dataDir: dir });
  const queued = createAdminServices({
    store,
    audit: auditBus,
    config,
    sessions: { list: () => Promise.resolve([]), kill: () => Promise.reject(new Error('none')) },
    checkPassword: async (name, hash, _password, address) => {
      calls.push({ name, address, known: hash !== null });
      return false;
    },
  });
  await services.admins.create(cli, 'opsadmin', 'full', 'long-enough-password-1');
  assert.equal((await queued.admins.checkPassword('opsadmin', 'guess', '198.51.100.4')).ok, false);
  assert.equal((await queued.admins.checkPassword('nobody', 'guess', '198.51.100.4')).ok, false);
  assert.deepEqual(calls, [
    { name: 'admin:opsadmin', address: '198.51.100.4', known: true },
    { name: 'admin:nobody', address: '198.51.100.4', known: false },
  ]);
  // without a server (the CLI) the password is checked directly
  assert.equal((await services.admins.checkPassword('opsadmin', 'long-enough-password-1', 'local')).ok, true);
});
