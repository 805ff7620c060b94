// The same repository calls on both dialects: SQLite (embedded default) and PostgreSQL (the
// real server at 127.0.0.1:5432, database `test`, in a schema of its own for this run).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import type { AuditRecord } from '../audit/events.ts';
import { isPortcullisError } from '../errors/index.ts';
import { Store } from './store.ts';

const PG_URL = process.env.PORTCULLIS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function exercise(store: Store): Promise<void> {
  const u = await store.users.add({ name: 'alice', passwordHash: '$argon2id$x', home: '/srv/alice', permissions: ['list', 'download'] });
  assert.equal(typeof u.id, 'number');
  assert.deepEqual((await store.users.get('alice'))?.permissions, ['list', 'download']);
  await assert.rejects(store.users.add({ name: 'alice', passwordHash: null, home: '/x', permissions: [] }), (e) => isPortcullisError(e, 'ERR_USER_EXISTS'));
  await store.users.update('alice', { disabled: true, passwordHash: '$argon2id$y' });
  const changed = await store.users.require('alice');
  assert.equal(changed.disabled, true);
  assert.equal(changed.passwordHash, '$argon2id$y');

  const k = await store.keys.add(u.id, { algorithm: 'ssh-ed25519', fingerprint: 'SHA256:abc', publicKey: 'ssh-ed25519 AAAA c', comment: 'c' });
  await assert.rejects(store.keys.add(u.id, { algorithm: 'ssh-ed25519', fingerprint: 'SHA256:abc', publicKey: 'ssh-ed25519 AAAA c', comment: 'c' }), (e) => isPortcullisError(e, 'ERR_KEY_EXISTS'));
  assert.deepEqual((await store.keys.list(u.id)).map((x) => x.fingerprint), ['SHA256:abc']);
  assert.equal((await store.keys.remove(u.id, '1')).id, k.id);
  await assert.rejects(store.keys.remove(u.id, 'SHA256:none'), (e) => isPortcullisError(e, 'ERR_KEY_NOT_FOUND'));

  const rec = (event: string, user: string, ts: string) => ({ ts, event, type: 'auth.failed', user, remoteAddress: '127.0.0.9', protocol: 'sftp', method: 'password', code: 'ERR_AUTH_FAILED', reason: 'bad-credentials' }) as AuditRecord;
  await store.audit.insert([rec('auth.failed', 'alice', '2026-01-01T00:00:00.000Z'), rec('auth.succeeded', 'alice', '2026-01-02T00:00:00.000Z'), rec('auth.failed', 'bob', '2026-01-03T00:00:00.000Z')]);
  assert.equal((await store.audit.search({ user: 'alice' })).length, 2);
  assert.deepEqual((await store.audit.search({ eventPrefix: 'auth.f' })).map((r) => r.user), ['alice', 'bob']);
  assert.equal((await store.audit.search({ since: '2026-01-02T00:00:00.000Z' })).length, 2);

  // API tokens (migration 0006): stored, found by id, revoked once, touched.
  const tok = { id: '0123456789abcdef', name: 'ci', mac: 'ab'.repeat(32), scopes: ['users:read', 'bans:write'], sources: ['10.0.0.0/8'], createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'cli:root', expiresAt: null };
  await store.tokens.add(tok);
  assert.deepEqual(await store.tokens.byId(tok.id), { ...tok, revokedAt: null, lastUsedAt: null });
  await store.tokens.touch(tok.id, new Date('2026-01-02T00:00:00.000Z'));
  assert.equal((await store.tokens.revoke('ci', new Date('2026-01-03T00:00:00.000Z'))).revokedAt, '2026-01-03T00:00:00.000Z');
  await assert.rejects(store.tokens.revoke('ci', new Date()), (e) => isPortcullisError(e, 'ERR_TOKEN_NOT_FOUND'));
  assert.equal((await store.tokens.list())[0]!.lastUsedAt, '2026-01-02T00:00:00.000Z');

  // Removing a user removes their keys (foreign key cascade on both dialects).
  await store.keys.add(u.id, { algorithm: 'ssh-ed25519', fingerprint: 'SHA256:def', publicKey: 'ssh-ed25519 BBBB', comment: '' });
  await store.users.remove('alice');
  assert.equal(await store.users.get('alice'), undefined);
  assert.deepEqual(await store.keys.list(u.id), []);
  await assert.rejects(store.users.remove('alice'), (e) => isPortcullisError(e, 'ERR_USER_NOT_FOUND'));
}

describe('store', () => {
  test('SQLite: migrations, users, keys, audit; file mode 0600', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'store-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'sub', 'db.sqlite');
    const store = await Store.open({ driver: 'sqlite', url: file });
    try {
      await exercise(store);
    } finally {
      await store.close();
    }
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    // Reopening runs no migration twice.
    const again = await Store.open({ driver: 'sqlite', url: file });
    await again.close();
  });

  test('PostgreSQL: the same calls work unchanged', async (t) => {
    const schema = `portcullis_test_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    t.after(async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    });
    const url = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const store = await Store.open({ driver: 'postgres', url });
    try {
      await exercise(store);
    } finally {
      await store.close();
    }
    const again = await Store.open({ driver: 'postgres', url });
    await again.close();
  });

  test('an unreachable store fails with ERR_STORE_UNAVAILABLE and hides the password', async () => {
    await assert.rejects(Store.open({ driver: 'postgres', url: 'postgres://u:hunter2@127.0.0.1:1/x' }), (e: unknown) => isPortcullisError(e, 'ERR_STORE_UNAVAILABLE') && !e.message.includes('hunter2'));
  });
});
