// The REST API attacked: tokens missing, wrong, expired, revoked, out of scope, from the wrong
// address; IDOR across users; traversal in `home` and in path parameters; hostile bodies
// (oversized, malformed, duplicate keys, wrong type, compressed, unknown fields); token brute
// force banned by the defender; X-Forwarded-For believed only from a configured proxy.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { cliActor } from '../../src/admin/actor.ts';
import { TokenService } from '../../src/admin/token-service.ts';
import { startApi } from './helpers.ts';

const exec = promisify(execFile);

test('tokens: missing, malformed, unknown, tampered, expired, revoked and from the wrong address all get 401', async (t) => {
  const f = await startApi(t);
  const good = await f.token('good', 'users:read');
  const revoked = await f.token('old', 'users:read');
  assert.equal((await f.cli(['admin', 'token', 'revoke', 'old'])).code, 0);
  const elsewhere = await f.token('office', 'users:read', ['--from', '192.0.2.0/24']);
  // an expired one: created two days ago for one day
  const past = new TokenService(f.srv.server.core.store, f.srv.server.core.audit, f.srv.dataDir, process.env, () => Date.now() - 2 * 86_400_000);
  const { token: expired } = await past.create(cliActor(), 'expired', { scopes: ['users:read'], expiresDays: 1 });

  const cases: [string, Parameters<typeof f.call>[2]][] = [
    ['no token', {}],
    ['garbage', { token: 'hello' }],
    ['basic auth', { headers: ['Authorization: Basic YWRtaW46YWRtaW4='] }],
    ['unknown id', { token: `pct_0123456789abcdef_${good.slice(22)}` }],
    ['tampered secret', { token: `${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}` }],
    ['revoked', { token: revoked }],
    ['expired', { token: expired }],
    ['wrong source address', { token: elsewhere }],
    ['overlong header', { headers: [`Authorization: Bearer ${'x'.repeat(2000)}`] }],
  ];
  for (const [what, options] of cases) {
    const r = await f.call('GET', '/v1/users', options);
    assert.equal(r.status, 401, what);
    assert.equal(r.code, 'ERR_API_UNAUTHENTICATED', what);
    assert.match(r.headers, /www-authenticate: Bearer/i, what);
  }
  // unknown routes answer 401 too without a token (no route discovery)
  assert.equal((await f.call('GET', '/v1/secret-admin')).status, 401);
  assert.equal((await f.call('GET', '/v1/secret-admin', { token: good })).code, 'ERR_API_NOT_FOUND');
  assert.equal((await f.call('GET', '/v1/users', { token: good })).status, 200);
  // the audit says which failure it was; the defender sees auth.failed from the socket address
  const failed = (await f.srv.server.core.store.audit.search({ eventPrefix: 'auth.failed' })) as unknown as { method: string; reason: string; remoteAddress: string; user?: string }[];
  assert.ok(failed.length >= 8);
  assert.ok(failed.every((r) => r.method === 'api-token' && r.remoteAddress === '127.0.0.1'));
  assert.ok(failed.some((r) => r.reason === 'address-not-allowed' && r.user === 'token:office'));
  assert.ok(failed.some((r) => r.user === 'token:expired') && failed.some((r) => r.user === 'token:old'));
});

test('scopes: a token never reaches what its scopes exclude (read cannot write, users cannot touch bans)', async (t) => {
  const f = await startApi(t);
  const usersRead = await f.token('ur', 'users:read');
  const bansOnly = await f.token('bo', 'bans:read,bans:write');
  const writer = await f.token('uw', 'users:write');
  const table: [string, string, string, unknown?][] = [
    [usersRead, 'POST', '/v1/users', { name: 'x', password: 'pw-pw-pw' }],
    [usersRead, 'DELETE', '/v1/users/x'],
    [usersRead, 'PUT', '/v1/users/x/password', { password: 'pw' }],
    [usersRead, 'GET', '/v1/bans'],
    [usersRead, 'GET', '/v1/sessions'],
    [bansOnly, 'GET', '/v1/users'],
    [bansOnly, 'GET', '/v1/rules/deny'],
    [bansOnly, 'POST', '/v1/rules/deny', { cidr: '10.0.0.0/8' }],
    [writer, 'GET', '/v1/users'],
    [writer, 'DELETE', '/v1/sessions/abcd'],
  ];
  for (const [token, method, p, json] of table) {
    const r = await f.call(method, p, { token, json });
    assert.equal(r.status, 403, `${method} ${p}`);
    assert.equal(r.code, 'ERR_API_FORBIDDEN', `${method} ${p}`);
  }
  assert.equal((await f.srv.server.core.store.users.list()).length, 0, 'nothing was written');
  assert.equal((await f.srv.server.core.store.policy.listRules()).length, 0);
});

test('IDOR: a key or certificate of one user cannot be removed through another user', async (t) => {
  const f = await startApi(t);
  const token = await f.token('admin', 'users:read,users:write');
  for (const name of ['alice', 'bob']) {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(f.dir, name)]);
    const pub = (await readFile(path.join(f.dir, `${name}.pub`), 'utf8')).trim();
    assert.equal((await f.call('POST', '/v1/users', { token, json: { name, publicKey: pub } })).status, 201);
  }
  const pin = 'CD'.repeat(32);
  assert.equal((await f.call('POST', '/v1/users/bob/certificates', { token, json: { fingerprint: pin } })).status, 201);
  const bobKey = ((await f.call('GET', '/v1/users/bob/keys', { token })).body as { items: { fingerprint: string }[] }).items[0]!.fingerprint;
  assert.equal((await f.call('DELETE', `/v1/users/alice/keys/${encodeURIComponent(bobKey)}`, { token })).code, 'ERR_KEY_NOT_FOUND');
  assert.equal((await f.call('DELETE', '/v1/users/alice/keys/1', { token })).code, 'ERR_KEY_NOT_FOUND', 'positions are not accepted over the API');
  assert.equal((await f.call('DELETE', `/v1/users/alice/certificates/${pin}`, { token })).code, 'ERR_KEY_NOT_FOUND');
  assert.equal(((await f.call('GET', '/v1/users/bob/keys', { token })).body as { items: unknown[] }).items.length, 1);
  assert.deepEqual(((await f.call('GET', '/v1/users/bob', { token })).body as { clientCertPins: string[] }).clientCertPins.length, 1);
});

test('traversal: home outside DATADIR/home and hostile path parameters are refused', async (t) => {
  const f = await startApi(t);
  const token = await f.token('admin', 'users:read,users:write,bans:write,sessions:write');
  for (const home of ['/etc', '../../../../etc', 'a/../../..', '..', 'a/..\\..\\..', 'C:\\Windows', `${f.srv.dataDir}/../x`, 'a\u0000b']) {
    const r = await f.call('POST', '/v1/users', { token, json: { name: 'evil', password: 'pw-pw-pw', home } });
    assert.equal(r.status, 400, home);
    assert.equal(r.code, 'ERR_ADMIN_INVALID_HOME', home);
  }
  assert.equal((await f.call('POST', '/v1/users', { token, json: { name: 'ok', password: 'pw-pw-pw' } })).status, 201);
  assert.equal((await f.call('PATCH', '/v1/users/ok', { token, json: { home: '../../etc' } })).code, 'ERR_ADMIN_INVALID_HOME');
  assert.equal(((await f.call('GET', '/v1/users/ok', { token })).body as { home: string }).home, path.join(f.srv.dataDir, 'home', 'ok'));
  await assert.rejects(access(path.join(f.srv.dataDir, '..', 'x')), 'nothing was created outside');
  const params: [string, string][] = [
    ['GET', '/v1/users/..%2F..%2Fetc%2Fpasswd'],
    ['GET', '/v1/users/%2e%2e'],
    ['GET', '/v1/users/ok%00'],
    ['DELETE', '/v1/users/ok/keys/..%2F..%2Fx'],
    ['DELETE', '/v1/bans/..%2F..%2F127.0.0.1'],
    ['DELETE', '/v1/sessions/..%2F..'],
    ['DELETE', '/v1/users/ok/certificates/..%2Fx'],
  ];
  for (const [method, p] of params) {
    const r = await f.call(method, p, { token });
    assert.ok([400, 404].includes(r.status), `${method} ${p}: ${r.status}`);
  }
  // unnormalised dot segments do not reach another route
  const dots = await f.call('GET', '/v1/users/../bans', { token, pathAsIs: true });
  assert.ok([400, 404].includes(dots.status), `dot segments: ${dots.status}`);
  assert.equal(((await f.call('GET', '/v1/users', { token: await f.token('r', 'users:read') })).body as { items: unknown[] }).items.length, 1);
});

test('hostile bodies: oversized, malformed, duplicate keys, wrong content type, compressed, unknown fields', async (t) => {
  const f = await startApi(t);
  const token = await f.token('admin', 'users:read,users:write');
  const cases: [string, Parameters<typeof f.call>[2], number, string][] = [
    ['oversized', { raw: JSON.stringify({ name: 'big', password: 'x'.repeat(40 * 1024) }), headers: ['Content-Type: application/json'] }, 413, 'ERR_API_BODY_TOO_LARGE'],
    ['malformed', { raw: '{"name": "m", "password": ', headers: ['Content-Type: application/json'] }, 400, 'ERR_API_MALFORMED_JSON'],
    ['single quotes', { raw: "{'name':'m'}", headers: ['Content-Type: application/json'] }, 400, 'ERR_API_MALFORMED_JSON'],
    ['duplicate keys', { raw: '{"name":"dup","password":"pw-pw-pw","home":"dup","home":"../../etc"}', headers: ['Content-Type: application/json'] }, 400, 'ERR_API_MALFORMED_JSON'],
    ['deep nesting', { raw: `{"name":"d","password":"pw-pw-pw","permissions":${'['.repeat(40)}${']'.repeat(40)}}`, headers: ['Content-Type: application/json'] }, 400, 'ERR_API_MALFORMED_JSON'],
    ['text/plain', { raw: '{"name":"t","password":"pw-pw-pw"}', headers: ['Content-Type: text/plain'] }, 415, 'ERR_API_UNSUPPORTED_MEDIA_TYPE'],
    ['form', { raw: 'name=f&password=pw', headers: ['Content-Type: application/x-www-form-urlencoded'] }, 415, 'ERR_API_UNSUPPORTED_MEDIA_TYPE'],
    ['gzip', { raw: '{"name":"g","password":"pw-pw-pw"}', headers: ['Content-Type: application/json', 'Content-Encoding: gzip'] }, 415, 'ERR_API_UNSUPPORTED_MEDIA_TYPE'],
    ['unknown field', { json: { name: 'u', password: 'pw-pw-pw', isAdmin: true } }, 400, 'ERR_API_BAD_REQUEST'],
    ['__proto__', { raw: '{"name":"p","password":"pw-pw-pw","__proto__":{"readOnly":false}}', headers: ['Content-Type: application/json'] }, 400, 'ERR_API_BAD_REQUEST'],
    ['wrong type', { json: { name: ['a'], password: 1 } }, 400, 'ERR_API_BAD_REQUEST'],
    ['bad name', { json: { name: 'a b', password: 'pw-pw-pw' } }, 400, 'ERR_API_BAD_REQUEST'],
    ['no body', {}, 400, 'ERR_API_BAD_REQUEST'],
  ];
  for (const [what, options, status, code] of cases) {
    const r = await f.call('POST', '/v1/users', { token, ...options });
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.code, code, what);
  }
  // a body where the route takes none, and a query where it takes none
  assert.equal((await f.call('DELETE', '/v1/users/nobody', { token, json: { force: true } })).code, 'ERR_API_BAD_REQUEST');
  assert.equal((await f.call('GET', '/v1/users/nobody?debug=1', { token })).code, 'ERR_API_BAD_REQUEST');
  assert.equal((await f.call('GET', '/v1/users?limit=100000', { token })).code, 'ERR_API_BAD_REQUEST');
  assert.equal((await f.call('GET', '/v1/users?cursor=!!', { token })).code, 'ERR_API_BAD_REQUEST');
  assert.equal((await f.srv.server.core.store.users.list()).length, 0, 'no hostile body created a user');
});

/** The store's records under `prefix` once `ready` holds (the trail's store writes are batched:
 * a record may reach the store a moment after the reply), or as they are after 5 s. */
async function searchWhen<T extends object>(f: { srv: { server: { core: { store: { audit: { search(q: object): Promise<unknown[]> } } } } } }, prefix: string, ready: (recs: T[]) => boolean): Promise<T[]> {
  let recs: T[] = [];
  for (let i = 0; i < 50; i++) {
    recs = (await f.srv.server.core.store.audit.search({ eventPrefix: prefix })) as T[];
    if (ready(recs)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return recs;
}
const failures = (f: Parameters<typeof searchWhen>[0], ready: (recs: { remoteAddress: string }[]) => boolean) => searchWhen<{ remoteAddress: string }>(f, 'auth.failed', ready);

test('token brute force: the defender bans the address, and a valid token from it is refused', async (t) => {
  const f = await startApi(t, { defender: { enabled: true, threshold: 5 } });
  const token = await f.token('admin', 'users:read');
  for (let i = 0; i < 5; i++) {
    const r = await f.call('GET', '/v1/users', { token: `pct_${'0'.repeat(16)}_${String(i).padStart(43, 'A')}` });
    assert.equal(r.status, 401);
  }
  const r = await f.call('GET', '/v1/users', { token });
  assert.equal(r.status, 403);
  assert.equal(r.code, 'ERR_ADMISSION_BANNED');
  const bans = await searchWhen<{ remoteAddress: string; source: string }>(f, 'policy.ban.added', (recs) => recs.length > 0);
  assert.deepEqual(bans.map((b) => [b.remoteAddress, b.source]), [['127.0.0.1', 'defender']]);
});

test('X-Forwarded-For is ignored unless the peer is a configured proxy', async (t) => {
  // no trusted proxy: the header changes nothing (the token is bound to 203.0.113.7; the socket is 127.0.0.1)
  const direct = await startApi(t, { defender: { enabled: true, threshold: 4 } });
  const bound = await direct.token('bound', 'users:read', ['--from', '203.0.113.7']);
  const spoofed = await direct.call('GET', '/v1/users', { token: bound, headers: ['X-Forwarded-For: 203.0.113.7'] });
  assert.equal(spoofed.status, 401, 'a spoofed X-Forwarded-For does not satisfy --from');
  // failures with changing spoofed addresses still count against the socket's address
  for (let i = 0; i < 3; i++) await direct.call('GET', '/v1/users', { token: 'pct_bad', headers: [`X-Forwarded-For: 198.51.100.${i}`] });
  const failed = await failures(direct, (recs) => recs.length >= 4);
  assert.ok(failed.length >= 4 && failed.every((x) => x.remoteAddress === '127.0.0.1'), 'the trail records the socket address, not the header');
  assert.equal((await direct.call('GET', '/v1/users', { token: bound })).code, 'ERR_ADMISSION_BANNED');

  // 127.0.0.1 configured as the proxy: its X-Forwarded-For is the client address
  const proxied = await startApi(t, { admin: { trustedProxies: ['127.0.0.1/32'] } });
  const token = await proxied.token('bound', 'users:read', ['--from', '203.0.113.7']);
  assert.equal((await proxied.call('GET', '/v1/users', { token, headers: ['X-Forwarded-For: 203.0.113.7'] })).status, 200);
  assert.equal((await proxied.call('GET', '/v1/users', { token, headers: ['X-Forwarded-For: 203.0.113.8'] })).status, 401);
  assert.equal((await proxied.call('GET', '/v1/users', { token })).status, 401, 'without the header the client is the proxy itself');
  await proxied.call('GET', '/v1/users', { token: 'pct_bad', headers: ['X-Forwarded-For: 192.0.2.44'] });
  const rec = await failures(proxied, (recs) => recs.some((r) => r.remoteAddress === '192.0.2.44'));
  assert.equal(rec.at(-1)!.remoteAddress, '192.0.2.44');
});

test('the connection rate counts connections, not requests: one kept-alive connection carries many', async (t) => {
  const f = await startApi(t, { rateLimits: { connectionsPerSecond: 1 } });
  const token = await f.token('bulk', 'users:read');
  const urls = Array.from({ length: 8 }, () => ['-o', '/dev/null', `${f.url}/v1/health`]).flat();
  const r = await (await import('../sftp/helpers.ts')).run('curl', ['-sS', '--cacert', f.ca, '-H', `Authorization: Bearer ${token}`, '-w', '%{http_code} %{num_connects}\n', ...urls]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['200 1', ...Array<string>(7).fill('200 0')], 'eight answers over one connection');
});
