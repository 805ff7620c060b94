// `portcullis audit verify` against a trail that was edited, shortened, reordered, truncated
// or lost a rotated file: each must fail and name where the chain breaks.
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { openStoreAndAudit } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';

async function makeTrail(t: Parameters<typeof makeTempDir>[0], records = 60): Promise<{ dir: string; auditDir: string; files: string[] }> {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'portcullis.yaml'), 'dataDir: ./data\naudit:\n  rotateBytes: 4096\n');
  const config = parseConfig({ dataDir: path.join(dir, 'data'), audit: { rotateBytes: 4096 } });
  const base = await openStoreAndAudit(config);
  for (let i = 0; i < records; i++) {
    base.audit.emit({ type: 'auth.failed', protocol: 'ftps', remoteAddress: '203.0.113.7', user: `user${i}`, method: 'password', code: 'ERR_AUTH_FAILED', reason: 'bad-credentials' });
    if (i % 7 === 0) await base.trail?.flush(); // several batches (the writer gathers records for a few ms)
  }
  await base.close();
  const auditDir = path.join(dir, 'data', 'audit');
  const files = (await readdir(auditDir)).sort();
  return { dir, auditDir, files };
}

const verify = (dir: string, json = false) => runCli(['audit', 'verify', ...(json ? ['--json'] : [])], { cwd: dir });

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l.length > 0);
}

test('an untouched trail verifies, across rotated files', async (t) => {
  const { dir, files } = await makeTrail(t);
  assert.ok(files.length >= 3, `rotation made several files: ${files.join(', ')}`);
  assert.ok(files.includes('audit.jsonl'));
  const r = await verify(dir);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /files: 60 records, last seq 60/);
  assert.match(r.stdout, /store: 60 records, chain head seq 60/);
  assert.match(r.stdout, /audit trail intact/);
});

test('one byte edited: verify names the record', async (t) => {
  const { dir, auditDir } = await makeTrail(t);
  const file = path.join(auditDir, 'audit.jsonl');
  const text = await readFile(file, 'utf8');
  const at = text.indexOf('203.0.113.7');
  await writeFile(file, `${text.slice(0, at)}203.0.113.8${text.slice(at + 11)}`); // one digit changed
  const r = await verify(dir);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /BROKEN edited: audit\.jsonl line 1: record seq \d+ does not match its hash/);
  assert.match(r.stderr, /\[ERR_AUDIT_CHAIN_BROKEN\]/);
});

test('a record deleted: verify names the gap', async (t) => {
  const { dir, auditDir } = await makeTrail(t);
  const file = path.join(auditDir, 'audit.jsonl');
  const ls = await lines(file);
  const removed = JSON.parse(ls[2]!) as { seq: number };
  await writeFile(file, `${[...ls.slice(0, 2), ...ls.slice(3)].join('\n')}\n`);
  const r = await verify(dir);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`BROKEN missing: audit\\.jsonl line 3: expected seq ${removed.seq}, found seq ${removed.seq + 1}`));
});

test('two records swapped: verify reports the reordering', async (t) => {
  const { dir, auditDir } = await makeTrail(t);
  const file = path.join(auditDir, 'audit.jsonl');
  const ls = await lines(file);
  [ls[1], ls[2]] = [ls[2]!, ls[1]!];
  await writeFile(file, `${ls.join('\n')}\n`);
  const r = await verify(dir, true);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as { ok: boolean; files: { problems: { kind: string; where: string }[] } };
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.files.problems.map((p) => `${p.kind} ${p.where}`),
    ['missing audit.jsonl line 2', 'reordered audit.jsonl line 3'],
  );
});

test('the file truncated at a record boundary: the store head shows records missing', async (t) => {
  const { dir, auditDir } = await makeTrail(t);
  const file = path.join(auditDir, 'audit.jsonl');
  const ls = await lines(file);
  await writeFile(file, `${ls.slice(0, ls.length - 3).join('\n')}\n`);
  const r = await verify(dir);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /BROKEN truncated: .*the trail ends at seq 57 but the chain head in the store is seq 60: seqs 58-60 are missing/);
});

test('the file truncated inside a record', async (t) => {
  const { dir, auditDir } = await makeTrail(t);
  const file = path.join(auditDir, 'audit.jsonl');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.slice(0, text.length - 40));
  const r = await verify(dir);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /BROKEN unparsable: audit\.jsonl line \d+: not a complete chained record/);
  assert.match(r.stdout, /BROKEN truncated: /);
});

test('a rotated file removed: verify names the missing range', async (t) => {
  const { dir, auditDir, files } = await makeTrail(t);
  const rotated = files.filter((f) => f !== 'audit.jsonl');
  const victim = rotated[1]!;
  const first = Number(/audit-(\d+)/.exec(victim)![1]);
  const next = rotated[2] ?? 'audit.jsonl';
  const nextFirst = (JSON.parse((await lines(path.join(auditDir, next)))[0]!) as { seq: number }).seq;
  await rm(path.join(auditDir, victim));
  const r = await verify(dir);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`BROKEN missing: ${next.replace('.', '\\.')} line 1: expected seq ${first}, found seq ${nextFirst}: seqs ${first}-${nextFirst - 1} are missing before it \\(a rotated file removed\\?\\)`));
});

test('an edited store row is found too', async (t) => {
  const { dir } = await makeTrail(t, 10);
  const config = parseConfig({ dataDir: path.join(dir, 'data') });
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  const row = await base.store.db.selectFrom('audit_events').select(['id', 'record']).where('seq', '=', 4).executeTakeFirstOrThrow();
  await base.store.db.updateTable('audit_events').set({ record: row.record.replace('user3', 'user9') }).where('id', '=', row.id).execute();
  await base.close();
  const r = await verify(dir);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /BROKEN edited: store seq 4: record seq 4 does not match its hash/);
});

// Issue 14.7: the chain must cover everything that is stored or searched.

test('attack: a duplicate key in a line ("user":"mallory" … "user":"alice") fails verify', async (t) => {
  const { dir, auditDir } = await makeTrail(t, 10);
  const file = path.join(auditDir, 'audit.jsonl');
  const ls = await lines(file);
  const victim = JSON.parse(ls[3]!) as { seq: number; user: string };
  // grep and any first-key-wins reader see mallory; JSON.parse (last key wins) sees the hashed user.
  ls[3] = `{"user":"mallory",${ls[3]!.slice(1)}`;
  await writeFile(file, `${ls.join('\n')}\n`);
  assert.equal((JSON.parse(ls[3]) as { user: string }).user, victim.user);
  const r = await verify(dir);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /BROKEN duplicate-key: audit\.jsonl line 4: duplicate key "user" at offset \d+/);
});

test('attack: a duplicate key in a store row fails verify', async (t) => {
  const { dir } = await makeTrail(t, 10);
  const config = parseConfig({ dataDir: path.join(dir, 'data') });
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  const row = await base.store.db.selectFrom('audit_events').select(['id', 'record']).where('seq', '=', 5).executeTakeFirstOrThrow();
  await base.store.db.updateTable('audit_events').set({ record: `{"user":"mallory",${row.record.slice(1)}`, user_name: 'mallory' }).where('id', '=', row.id).execute();
  await base.close();
  const r = await verify(dir);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /BROKEN duplicate-key: store seq 5: duplicate key "user"/);
});

test('attack: the indexed user column edited in the database fails verify (search would show mallory)', async (t) => {
  const { dir } = await makeTrail(t, 10);
  const config = parseConfig({ dataDir: path.join(dir, 'data') });
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  await base.store.db.updateTable('audit_events').set({ user_name: 'mallory' }).where('seq', '=', 4).execute();
  await base.close();
  const search = await runCli(['audit', 'search', '--user', 'mallory', '--json'], { cwd: dir });
  assert.equal((JSON.parse(search.stdout) as unknown[]).length, 1, 'the edited row is what search finds');
  const r = await verify(dir);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /BROKEN column-mismatch: store seq 4: column user_name is "mallory" but the chained record says "user3"/);
});

test('attack: the address, event and time columns edited fail verify too', async (t) => {
  const { dir } = await makeTrail(t, 10);
  const config = parseConfig({ dataDir: path.join(dir, 'data') });
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  await base.store.db.updateTable('audit_events').set({ remote_address: '198.51.100.1' }).where('seq', '=', 2).execute();
  await base.store.db.updateTable('audit_events').set({ event: 'auth.succeeded' }).where('seq', '=', 3).execute();
  await base.store.db.updateTable('audit_events').set({ ts: '2020-01-01T00:00:00.000Z' }).where('seq', '=', 6).execute();
  await base.close();
  const r = await verify(dir, true);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as { store: { problems: { kind: string; message: string }[] } };
  assert.deepEqual(
    report.store.problems.map((p) => `${p.kind} ${/column (\w+)/.exec(p.message)?.[1]}`),
    ['column-mismatch remote_address', 'column-mismatch event', 'column-mismatch ts'],
  );
});

test('attack: a line re-spelled (same values, not canonical) fails verify', async (t) => {
  const { dir, auditDir } = await makeTrail(t, 10);
  const file = path.join(auditDir, 'audit.jsonl');
  const ls = await lines(file);
  ls[2] = JSON.stringify(JSON.parse(ls[2]!), null, 1).replace(/\n/g, ''); // spaces, same values, same hash
  await writeFile(file, `${ls.join('\n')}\n`);
  const r = await verify(dir);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /BROKEN non-canonical: audit\.jsonl line 3: record seq 3 is not in canonical form/);
});

test('attack: a row slipped into the store outside the chain (seq null) fails verify', async (t) => {
  const { dir } = await makeTrail(t, 10);
  const config = parseConfig({ dataDir: path.join(dir, 'data') });
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  await base.store.audit.insert([{ ts: new Date().toISOString(), event: 'auth.succeeded', type: 'auth.succeeded', methods: ['password'], user: 'mallory', remoteAddress: '198.51.100.9' }]);
  await base.close();
  const r = await verify(dir);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /BROKEN unchained: store row id \d+: 1 row\(s\) without a place in the chain/);
});

// Issue 14.6: rotated files under a retention policy.
test('retention removes the oldest rotated files, says so in the chain, and the trail still verifies', async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'portcullis.yaml'), 'dataDir: ./data\naudit:\n  rotateBytes: 4096\n  retention:\n    files: 2\n');
  const config = parseConfig({ dataDir: path.join(dir, 'data'), audit: { rotateBytes: 4096, retention: { files: 2 } } });
  const base = await openStoreAndAudit(config);
  for (let i = 0; i < 80; i++) {
    base.audit.emit({ type: 'auth.failed', protocol: 'ftps', remoteAddress: '203.0.113.7', user: `user${i}`, method: 'password', code: 'ERR_AUTH_FAILED', reason: 'bad-credentials' });
    if (i % 7 === 0) await base.trail?.flush();
  }
  await base.close();
  const auditDir = path.join(dir, 'data', 'audit');
  const files = (await readdir(auditDir)).sort();
  assert.deepEqual(files.length, 3, `two rotated files and the current one: ${files.join(', ')}`);
  const all = (await Promise.all(files.map((f) => lines(path.join(auditDir, f))))).flat();
  const removals = all.map((l) => JSON.parse(l) as { event: string; files?: string[] }).filter((r) => r.event === 'audit.retention.removed');
  assert.ok(removals.length >= 1 && removals.every((r) => r.files!.length >= 1), 'each removal is recorded in the chain');
  const r = await verify(dir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /note: the files start at seq \d+: seqs 1-\d+ were removed by audit\.retention/);
  assert.match(r.stdout, /audit trail intact/);

  // A rotated file removed by hand is still a break.
  await rm(path.join(auditDir, files[0]!));
  const broken = await verify(dir);
  assert.equal(broken.code, 1, broken.stdout);
  assert.match(broken.stdout, /BROKEN missing: /);
});
