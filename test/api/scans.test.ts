// Bans export and scans over the REST API, through real clients: tokens made by the CLI, curl
// over HTTPS. Scans started over the API run in the background, land in the same history as the
// CLI's `scan history` / `scan diff`, and only ever reach this server's listeners or a target
// named in scans.targets: an address given in the request is refused without a connection (SSRF).
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../monitoring/helpers.ts';
import { goodCert } from '../scanner/helpers/certs.ts';
import { startFakeFtp } from '../scanner/helpers/fake-ftp.ts';
import { requireBinary } from '../sftp/helpers.ts';
import { type ApiFixture, type ApiReply, startApi } from './helpers.ts';

type RunView = { id: number; status: string; trigger: string; finishedAt: string | null; results: { target: string; reachable: boolean; failures: { id: string }[]; report: { target: { url: string } } }[] };
type Finding = { id: string; severity: string };
type Diff = { runA: number; runB: number; targets: { target: string; before: number | null; after: number | null; new: Finding[]; resolved: Finding[]; unchanged: Finding[] }[] };

async function finished(f: ApiFixture, token: string, id: number): Promise<RunView> {
  let run: RunView | undefined;
  await waitFor(`scan run ${id} to finish`, async () => {
    const r = await f.call('GET', `/v1/scans/${id}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    run = r.body as RunView;
    return run.status !== 'running';
  }, 120_000);
  return run!;
}

test('ban export over the API is the nftables set of `ban export`, with bans:read only', async (t) => {
  await requireBinary('curl', 'curl');
  const f = await startApi(t);
  const ops = await f.token('ops', 'bans:read,bans:write');
  const writer = await f.token('writer', 'bans:write');
  const other = await f.token('other', 'users:read,scans:read');
  assert.equal((await f.call('POST', '/v1/bans', { token: ops, json: { address: '203.0.113.7', minutes: 30, reason: 'api export test' } })).status, 201);
  assert.equal((await f.call('POST', '/v1/bans', { token: ops, json: { address: '2001:db8::7', minutes: 30 } })).status, 201);

  const r = await f.call('GET', '/v1/bans/export?format=nft', { token: ops });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers, /^content-type: text\/plain; charset=utf-8\r?$/im);
  assert.match(r.headers, /^cache-control: no-store\r?$/im);
  assert.equal(typeof r.body, 'string');
  assert.match(r.text, /203\.0\.113\.7 timeout \d+s/);
  assert.match(r.text, /2001:db8::\/64 timeout \d+s/); // IPv6 bans cover the /64
  // the CLI prints the same script (the one PolicyService.exportBans): equal but for the time it was made
  const cli = await f.cli(['ban', 'export', '--format', 'nft']);
  assert.equal(cli.code, 0, cli.stderr);
  const norm = (s: string) => s.replace(/exported \S+/, 'exported T').replace(/timeout \d+s/g, 'timeout Ns');
  assert.equal(norm(r.text), norm(cli.stdout));

  for (const q of ['?format=iptables', '', '?format=nft&format=nft', '?format=nft&extra=1']) {
    const bad = await f.call('GET', `/v1/bans/export${q}`, { token: ops });
    assert.equal(bad.status, 400, q);
    assert.equal(bad.code, 'ERR_API_BAD_REQUEST', q);
  }
  for (const token of [writer, other]) {
    const denied = await f.call('GET', '/v1/bans/export?format=nft', { token });
    assert.equal(denied.status, 403);
    assert.equal(denied.code, 'ERR_API_FORBIDDEN');
    assert.ok(!denied.text.includes('203.0.113.7'));
  }
  assert.equal((await f.call('GET', '/v1/bans/export?format=nft')).status, 401);
});

test('scans over the API: start in the background, status, history (API and CLI), diff of two runs, audited with the token', async (t) => {
  await requireBinary('curl', 'curl');
  const cert = goodCert(t);
  const options = { greeting: '220 FTP server ready', explicitTls: { key: cert.key, cert: cert.cert }, requireTls: true };
  const fake = await startFakeFtp(t, options);
  const f = await startApi(t, {
    scans: { schedule: null, ownListeners: false, targets: [{ url: fake.url, caFile: path.join(path.dirname(cert.certFile), 'ca.pem') }], timeoutSeconds: 5, targetTimeoutSeconds: 60 },
  });
  const scanner = await f.token('scanner', 'scans:read,scans:write');
  const reader = await f.token('reader', 'scans:read');
  const other = await f.token('other', 'bans:read,bans:write,posture:read');

  // scopes: reading needs scans:read, starting scans:write
  for (const [method, p, token] of [['POST', '/v1/scans', reader], ['GET', '/v1/scans', other], ['GET', '/v1/scans/1', other], ['GET', '/v1/scans/1/diff/2', other], ['POST', '/v1/scans', other]] as const) {
    const r = await f.call(method, p, { token, json: method === 'POST' ? { target: fake.url } : undefined });
    assert.equal(r.status, 403, `${method} ${p}`);
    assert.equal(r.code, 'ERR_API_FORBIDDEN');
  }
  assert.equal(fake.commands.length, 0, 'nothing was scanned by a refused request');
  assert.deepEqual((await f.call('GET', '/v1/scans', { token: reader })).body, { items: [], next: null });

  // run 1: a well-behaved FTPS server
  const started = await f.call('POST', '/v1/scans', { token: scanner, json: { target: fake.url } });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const s1 = started.body as { id: number; status: string; targets: string[] };
  assert.deepEqual([s1.status, s1.targets], ['running', [fake.url]]);
  // one run at a time
  const busy = await f.call('POST', '/v1/scans', { token: scanner, json: { target: fake.url } });
  assert.equal(busy.status, 409, JSON.stringify(busy.body));
  assert.equal(busy.code, 'ERR_SCAN_IN_PROGRESS');
  const run1 = await finished(f, reader, s1.id);
  assert.equal(run1.status, 'completed');
  assert.equal(run1.trigger, 'api');
  assert.ok(run1.finishedAt);
  assert.deepEqual(run1.results.map((r) => [r.target, r.reachable, r.report.target.url]), [[fake.url, true, fake.url]]);
  assert.ok(fake.commands.length > 0, 'the configured target was scanned');

  // run 2: the target now announces a backdoored vsftpd and takes logins before AUTH TLS
  options.greeting = '220 (vsFTPd 2.3.4)';
  options.requireTls = false;
  const s2 = (await f.call('POST', '/v1/scans', { token: scanner, json: { target: fake.url.replace(/:(\d+)$/, ':$1/') } })).body as { id: number };
  assert.ok(s2.id > s1.id);
  const run2 = await finished(f, reader, s2.id);
  assert.equal(run2.status, 'completed');
  assert.ok(run2.results[0]!.failures.some((x) => x.id === 'ftp.vsftpd-backdoor'));

  // the diff: new, resolved, unchanged per target, as `scan diff --json`
  const diff = await f.call('GET', `/v1/scans/${s1.id}/diff/${s2.id}`, { token: reader });
  assert.equal(diff.status, 200, JSON.stringify(diff.body));
  const d = diff.body as Diff;
  assert.deepEqual([d.runA, d.runB, d.targets.length, d.targets[0]!.target, d.targets[0]!.before, d.targets[0]!.after], [s1.id, s2.id, 1, fake.url, s1.id, s2.id]);
  assert.ok(d.targets[0]!.new.some((x) => x.id === 'ftp.vsftpd-backdoor' && x.severity === 'critical'), JSON.stringify(d.targets[0]!.new));
  assert.ok(d.targets[0]!.unchanged.length > 0);
  const back = (await f.call('GET', `/v1/scans/${s2.id}/diff/${s1.id}`, { token: reader })).body as Diff;
  assert.ok(back.targets[0]!.resolved.some((x) => x.id === 'ftp.vsftpd-backdoor'));
  const cliDiff = await f.cli(['scan', 'diff', String(s1.id), String(s2.id), '--json']);
  assert.equal(cliDiff.code, 0, cliDiff.stderr);
  assert.deepEqual(JSON.parse(cliDiff.stdout), diff.body);

  // history: cursor pages, a target filter, the same rows as `scan history`
  const all = (await f.call('GET', '/v1/scans', { token: reader })).body as { items: { runId: number; target: string; trigger: string; kind: string }[]; next: string | null };
  assert.deepEqual(all.items.map((r) => [r.runId, r.target, r.kind, r.trigger]), [[s2.id, fake.url, 'scan', 'api'], [s1.id, fake.url, 'scan', 'api']]);
  assert.equal(all.next, null);
  const p1 = (await f.call('GET', '/v1/scans?limit=1', { token: reader })).body as { items: { runId: number }[]; next: string };
  assert.deepEqual(p1.items.map((r) => r.runId), [s2.id]);
  const p2 = (await f.call('GET', `/v1/scans?limit=1&cursor=${p1.next}`, { token: reader })).body as { items: { runId: number }[]; next: string | null };
  assert.deepEqual([p2.items.map((r) => r.runId), p2.next], [[s1.id], null]);
  assert.equal((await f.call('GET', '/v1/scans?cursor=bm9wZQ', { token: reader })).code, 'ERR_API_BAD_REQUEST');
  const filtered = (await f.call('GET', `/v1/scans?target=${encodeURIComponent(fake.url)}`, { token: reader })).body as { items: unknown[] };
  assert.equal(filtered.items.length, 2);
  assert.deepEqual(((await f.call('GET', '/v1/scans?target=ftp%3A%2F%2F192.0.2.1%3A21', { token: reader })).body as { items: unknown[] }).items, []);
  assert.equal((await f.call('GET', '/v1/scans?target=http%3A%2F%2Fx', { token: reader })).code, 'ERR_SCAN_BAD_TARGET');
  const history = await f.cli(['scan', 'history', fake.url]);
  assert.equal(history.code, 0, history.stderr);
  for (const id of [s1.id, s2.id]) assert.match(history.stdout, new RegExp(`^${id} .*scan/api +${fake.url.replace(/[/.]/g, '\\$&')} +yes`, 'm'));

  // unknown runs and malformed ids
  assert.equal((await f.call('GET', '/v1/scans/999999', { token: reader })).code, 'ERR_SCAN_RUN_NOT_FOUND');
  assert.equal((await f.call('GET', '/v1/scans/999999', { token: reader })).status, 404);
  assert.equal((await f.call('GET', `/v1/scans/${s1.id}/diff/999999`, { token: reader })).status, 404);
  for (const p of ['/v1/scans/abc', '/v1/scans/0', '/v1/scans/-1', '/v1/scans/1e3x']) assert.equal((await f.call('GET', p, { token: reader })).status, 400, p);

  // each start audited once with the token
  await waitFor('the starts in the store', async () => (await f.srv.server.core.store.audit.search({ eventPrefix: 'admin.scan.started' })).length === 2);
  const starts = (await f.srv.server.core.store.audit.search({ eventPrefix: 'admin.scan.started' })) as unknown as { actor: { kind: string; id: string }; remoteAddress: string; subject: string; after: { targets: string[] } }[];
  for (const r of starts) {
    assert.equal(r.actor.kind, 'api-token');
    assert.match(r.actor.id, /^scanner\(/);
    assert.equal(r.remoteAddress, '127.0.0.1');
    assert.deepEqual(r.after.targets, [fake.url]);
  }
  assert.deepEqual(starts.map((r) => r.subject).sort(), [String(s1.id), String(s2.id)].sort());
});

test("a scan of the server's own listeners by default", async (t) => {
  await requireBinary('curl', 'curl');
  const f = await startApi(t, { scans: { schedule: null, ownListeners: false, timeoutSeconds: 5, targetTimeoutSeconds: 60 } });
  const scanner = await f.token('scanner', 'scans:read,scans:write');
  const started = await f.call('POST', '/v1/scans', { token: scanner, json: {} });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const s = started.body as { id: number; targets: string[] };
  const sftp = `sftp://127.0.0.1:${f.srv.port('sftp')}`;
  assert.ok(s.targets.includes(sftp), s.targets.join(' '));
  assert.ok(s.targets.some((u) => u.startsWith('ftp://127.0.0.1:')) && s.targets.every((u) => u.includes('127.0.0.1')), s.targets.join(' '));
  const run = await finished(f, scanner, s.id);
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.results.map((r) => r.target).sort(), [...s.targets].sort());
  assert.ok(run.results.every((r) => r.reachable));
  // one listener, named by its URL
  const one = await f.call('POST', '/v1/scans', { token: scanner, json: { target: sftp } });
  assert.equal(one.status, 202, JSON.stringify(one.body));
  assert.deepEqual((one.body as { targets: string[] }).targets, [sftp]);
  assert.equal((await finished(f, scanner, (one.body as { id: number }).id)).status, 'completed');
  // the command line sees both runs
  const history = await f.cli(['scan', 'history', sftp]);
  assert.equal(history.code, 0, history.stderr);
  assert.equal(history.stdout.split('\n').filter((l) => / scan\/api +sftp:\/\//.test(l)).length, 2, history.stdout);
});

test('SSRF: a scan of anything not configured is refused and nothing is connected to', async (t) => {
  await requireBinary('curl', 'curl');
  // a listener the request names: it must never see a connection
  const connections: string[] = [];
  const bait = net.createServer((sock) => {
    connections.push(`${sock.remoteAddress}:${sock.remotePort}`);
    sock.destroy();
  });
  await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => bait.close(() => resolve())));
  const port = (bait.address() as net.AddressInfo).port;
  const cert = goodCert(t);
  const fake = await startFakeFtp(t, { greeting: '220 ready', explicitTls: { key: cert.key, cert: cert.cert } });
  const f = await startApi(t, { scans: { schedule: null, targets: [{ url: fake.url }], timeoutSeconds: 2, targetTimeoutSeconds: 10 } });
  const scanner = await f.token('scanner', 'scans:read,scans:write');

  const refused: [string, string][] = [
    [`ftp://127.0.0.1:${port}`, 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    [`ftps://127.0.0.1:${port}`, 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    [`sftp://127.0.0.1:${port}`, 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    [`ftp://localhost:${port}`, 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    [`ftp://[::ffff:127.0.0.1]:${port}`, 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    [`ftp://2130706433:${port}`, 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    // a configured host on another port is another target
    [fake.url.replace(/:\d+$/, `:${port}`), 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    ['ftp://ssrf-probe.invalid:21', 'ERR_SCAN_TARGET_NOT_CONFIGURED'],
    [`http://127.0.0.1:${port}/`, 'ERR_SCAN_BAD_TARGET'],
    [`ftp://user:pw@127.0.0.1:${port}`, 'ERR_SCAN_BAD_TARGET'],
    [`127.0.0.1:${port}`, 'ERR_SCAN_BAD_TARGET'],
  ];
  const replies: ApiReply[] = [];
  for (const [target] of refused) replies.push(await f.call('POST', '/v1/scans', { token: scanner, json: { target } }));
  // no other way in: extra fields, a list, a non-string
  const malformed = [{ target: fake.url, host: '127.0.0.1' }, { targets: [`ftp://127.0.0.1:${port}`] }, { target: ['own'] }, { url: `ftp://127.0.0.1:${port}` }];
  const badReplies: ApiReply[] = [];
  for (const json of malformed) badReplies.push(await f.call('POST', '/v1/scans', { token: scanner, json }));
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(connections, [], 'nothing connected to the address named in the requests');
  refused.forEach(([target, code], i) => {
    assert.equal(replies[i]!.status, 400, `${target}: ${JSON.stringify(replies[i]!.body)}`);
    assert.equal(replies[i]!.code, code, target);
  });
  malformed.forEach((json, i) => assert.equal(badReplies[i]!.code, 'ERR_API_BAD_REQUEST', JSON.stringify(json)));
  assert.deepEqual((await f.call('GET', '/v1/scans', { token: scanner })).body, { items: [], next: null }, 'no run stored');
  assert.equal(fake.commands.length, 0);
  assert.equal((await f.srv.server.core.store.audit.search({ eventPrefix: 'admin.scan.' })).length, 0, 'nothing started, nothing audited');
});
