// `portcullis doctor` against crafted data: an end-of-life Node.js line with a newer security
// release, a vulnerable installed dependency (OSV file dropped in), a weak certificate, loose
// permissions, a pending migration, a skewed clock, a nearly full disk; and the server's
// scheduled run, which audits and alerts when the result changes.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type { AuditRecord } from '../../src/audit/events.ts';
import { parseConfig } from '../../src/config/load.ts';
import { runDoctor } from '../../src/doctor/doctor.ts';
import { loadOsv } from '../../src/doctor/osv.ts';
import type { DoctorReport } from '../../src/doctor/types.ts';
import { loadIdentity } from '../../src/identity/identity.ts';
import { BUNDLED_LIFECYCLE, loadLifecycle } from '../../src/posture/lifecycle.ts';
import { migrationProvider } from '../../src/store/migrations.ts';
import { Store } from '../../src/store/store.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir, startTestServer } from '../helpers/server.ts';
import { weakCert } from '../scanner/helpers/certs.ts';

const ROOT = new URL('../../', import.meta.url);
const installed = (name: string): string => (JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, ROOT), 'utf8')) as { version: string }).version;
const NODE_MAJOR = process.versions.node.split('.')[0]!;

/** A lifecycle file in which the running Node.js line is past end of life and has a newer security release. */
function craftedLifecycle(dir: string): string {
  const data = JSON.parse(readFileSync(BUNDLED_LIFECYCLE, 'utf8')) as { node: Record<string, Record<string, unknown>> };
  data.node[NODE_MAJOR] = {
    eol: '2026-01-31',
    maintenanceFrom: '2025-06-01',
    latest: `${NODE_MAJOR}.999.1`,
    securityReleases: [
      { version: `${NODE_MAJOR}.999.0`, date: '2026-11-20', cves: ['CVE-2026-99901'], summary: 'crafted: HTTP request smuggling' },
      { version: '0.0.1', date: '2000-01-01', cves: [] },
    ],
  };
  const file = path.join(dir, 'lifecycle.json');
  writeFileSync(file, JSON.stringify(data));
  return file;
}

/** An OSV file (as osv.dev answers) naming the installed kysely, the installed typescript (a
 * development dependency), a fixed older range, a withdrawn advisory and a PyPI record. */
function craftedAdvisories(dir: string): string {
  const kysely = installed('kysely');
  const [maj, min, patch] = kysely.split('.').map(Number) as [number, number, number];
  const record = (id: string, pkg: string, events: object[], extra: object = {}) => ({
    schema_version: '1.6.0',
    id,
    modified: '2026-12-01T00:00:00Z',
    aliases: [`CVE-2026-${id.slice(-4)}`],
    summary: `crafted advisory ${id}`,
    affected: [{ package: { ecosystem: 'npm', name: pkg }, ranges: [{ type: 'ECOSYSTEM', events }] }],
    references: [{ type: 'ADVISORY', url: `https://example.test/${id}` }],
    database_specific: { severity: 'HIGH' },
    ...extra,
  });
  const vulns = [
    record('GHSA-test-kyse-0001', 'kysely', [{ introduced: '0' }, { fixed: `${maj}.${min}.${patch + 1}` }]),
    record('GHSA-test-type-0002', 'typescript', [{ introduced: '5.0.0' }, { fixed: '99.0.0' }]),
    record('GHSA-test-old0-0003', 'kysely', [{ introduced: '0' }, { fixed: '0.1.0' }]),
    record('GHSA-test-wdrn-0004', 'kysely', [{ introduced: '0' }], { withdrawn: '2026-11-30T00:00:00Z' }),
    { id: 'PYSEC-2026-1', modified: '2026-12-02T00:00:00Z', affected: [{ package: { ecosystem: 'PyPI', name: 'paramiko' }, versions: ['1.0'] }] },
  ];
  const file = path.join(dir, 'osv.json');
  writeFileSync(file, JSON.stringify({ vulns }));
  return file;
}

/** A data dir with keys and a store migrated only up to 0004 (so 0005 and later are pending). */
async function staleDataDir(t: TestContext): Promise<{ dir: string; dataDir: string }> {
  const dir = await makeTempDir(t, 'portcullis-doctor-');
  const dataDir = path.join(dir, 'data');
  await loadIdentity({ dataDir, tls: { certFile: null, keyFile: null } });
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(path.join(dataDir, 'portcullis.db')) }) });
  const { error } = await new Migrator({ db, provider: migrationProvider('sqlite') }).migrateTo('0004_audit_chain');
  await db.destroy();
  assert.equal(error, undefined);
  return { dir, dataDir };
}

function find(report: DoctorReport, id: string, pattern: RegExp) {
  const f = report.findings.find((x) => x.id === id && pattern.test(x.summary));
  assert.ok(f, `no ${id} matching ${pattern}:\n${report.findings.map((x) => `${x.severity} ${x.id}: ${x.summary}`).join('\n')}`);
  return f;
}

test('doctor reports an EOL runtime, a vulnerable dependency, a weak certificate, loose permissions and a pending migration, each with its fix, and exits 2', async (t) => {
  const { dir, dataDir } = await staleDataDir(t);
  const weak = weakCert(t); // RSA-1024
  writeFileSync(path.join(dir, 'portcullis.yaml'), `dataDir: ./data\ntls: { certFile: ${weak.certFile}, keyFile: ${weak.keyFile} }\n`);
  chmodSync(path.join(dataDir, 'ssh', 'ssh_host_ed25519_key'), 0o644);
  const lifecycle = craftedLifecycle(dir);
  const advisories = craftedAdvisories(dir);

  const r = await runCli(['doctor', '--json', '--lifecycle', lifecycle, '--advisories', advisories], { cwd: dir });
  assert.equal(r.code, 2, r.stderr);
  const report = JSON.parse(r.stdout) as DoctorReport;
  assert.equal(report.status, 'problem');
  assert.equal(report.exitCode, 2);

  const eol = find(report, 'doctor.runtime', /end of life on 2026-01-31/);
  assert.equal(eol.severity, 'problem');
  assert.match(eol.fix, /Install the newest release of Node\.js .*restart/);
  const sec = find(report, 'doctor.runtime', /security releases? of line/);
  assert.equal(sec.severity, 'problem');
  assert.match(sec.evidence.join(' '), /CVE-2026-99901/);
  assert.doesNotMatch(sec.evidence.join(' '), /0\.0\.1/, 'an older security release is not news');

  const kysely = installed('kysely');
  const dep = find(report, 'doctor.dependencies', /^kysely .*GHSA-test-kyse-0001/);
  assert.equal(dep.severity, 'problem');
  assert.match(dep.fix, new RegExp(`kysely to ${kysely.replace(/\d+$/, (p) => String(Number(p) + 1)).replace(/\./g, '\\.')} or newer`));
  assert.match(dep.evidence.join(' '), /pulled in by \(portcullis\)/);
  const dev = find(report, 'doctor.dependencies', /^typescript .*GHSA-test-type-0002/);
  assert.equal(dev.severity, 'warning', 'a development dependency is never loaded by the server: a warning, not a problem');
  assert.match(dev.evidence.join(' '), /development dependency/);
  for (const id of ['GHSA-test-old0-0003', 'GHSA-test-wdrn-0004', 'PYSEC-2026-1']) assert.ok(!report.findings.some((f) => f.summary.includes(id)), `${id} does not apply`);

  const cert = find(report, 'doctor.certificates', /RSA-1024 key/);
  assert.equal(cert.severity, 'problem');
  assert.match(cert.fix, /tls\.certFile/);

  const perm = find(report, 'doctor.permissions', /ssh_host_ed25519_key is readable by every user \(0644\)/);
  assert.equal(perm.severity, 'problem');
  assert.match(perm.fix, /chmod 600 .*ssh_host_ed25519_key/);

  const pending = find(report, 'doctor.store', /pending: 0005_client_cert_pins/);
  assert.equal(pending.severity, 'warning');
  assert.match(pending.fix, /Restart the server: it applies pending migrations/);

  const clock = report.findings.find((f) => f.id === 'doctor.clock')!;
  assert.equal(clock.severity, 'not-checked', 'no clock URL configured: not checked, never a network call');
  // Every line that asks for something says what to do.
  for (const f of report.findings.filter((x) => x.severity === 'warning' || x.severity === 'problem')) assert.ok(f.fix.length > 10, `${f.id} ${f.summary}: no fix`);
  // Doctor only reads: the migration is still pending afterwards.
  const again = await runCli(['doctor', '--json', '--lifecycle', lifecycle, '--advisories', advisories], { cwd: dir });
  find(JSON.parse(again.stdout) as DoctorReport, 'doctor.store', /pending: 0005_client_cert_pins/);

  // The text report: one line per finding with its severity, and the fix below it.
  const text = await runCli(['doctor', '--quiet', '--lifecycle', lifecycle, '--advisories', advisories], { cwd: dir });
  assert.equal(text.code, 2);
  assert.match(text.stdout, /^PROBLEM doctor\.runtime: Node\.js .* reached end of life on 2026-01-31/m);
  assert.match(text.stdout, /^ {8}fix: Install the newest release of Node\.js/m);
  assert.match(text.stdout, /^WARN {4}doctor\.store: \d+ migrations? pending/m);
  assert.doesNotMatch(text.stdout, /^OK /m, '--quiet leaves out the ok lines');
  assert.match(text.stdout, /^PROBLEM: \d+ problems?, \d+ warnings?.*\(exit 2\)$/m);
});

test('doctor on a current install: warnings exit 1, nothing above ok exits 0; a bad data file exits 3', async (t) => {
  const dir = await makeTempDir(t, 'portcullis-doctor-');
  const dataDir = path.join(dir, 'data');
  await loadIdentity({ dataDir, tls: { certFile: null, keyFile: null } });
  const store = await Store.open({ driver: 'sqlite', url: path.join(dataDir, 'portcullis.db') });
  await store.close();
  const lifecycle = path.join(dir, 'lifecycle.json');
  const data = JSON.parse(readFileSync(BUNDLED_LIFECYCLE, 'utf8')) as { date: string; node: Record<string, unknown> };
  data.date = new Date().toISOString().slice(0, 10);
  data.node[NODE_MAJOR] = { eol: '2099-01-01', maintenanceFrom: '2098-01-01', latest: process.versions.node };
  writeFileSync(lifecycle, JSON.stringify(data));
  const advisories = path.join(dir, 'osv');
  // A folder of OSV files (an osv.dev export): none applies.
  mkdirSync(path.join(advisories, 'npm'), { recursive: true });
  writeFileSync(path.join(advisories, 'npm', 'GHSA-none-0001.json'), JSON.stringify({ id: 'GHSA-none-0001', modified: new Date().toISOString(), affected: [{ package: { ecosystem: 'npm', name: 'kysely' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.0.1' }] }] }] }));
  // Monitoring-friendly settings: an alert destination, so the configuration lint has nothing to say.
  const base = `dataDir: ./data\nalerts: { syslog: { host: 127.0.0.1 } }\n`;
  writeFileSync(path.join(dir, 'portcullis.yaml'), base);
  const args = ['doctor', '--json', '--lifecycle', lifecycle, '--advisories', advisories];
  const big = (r: { stdout: string }) => JSON.parse(r.stdout) as DoctorReport;

  const ok = await runCli(args, { cwd: dir });
  const report = big(ok);
  const loud = report.findings.filter((f) => f.severity === 'warning' || f.severity === 'problem');
  // The machine's own disk may be fuller than the thresholds: that is the one honest exception.
  const expected = loud.every((f) => f.id === 'doctor.disk') ? (loud.length ? 1 : 0) : -1;
  assert.equal(ok.code, expected, loud.map((f) => `${f.severity} ${f.id}: ${f.summary}`).join('\n'));
  assert.equal(report.data.advisories.records, 1);

  // A setting that weakens a layer is a warning, named by its key.
  writeFileSync(path.join(dir, 'portcullis.yaml'), `${base}defender: { enabled: false }\n`);
  const weak = await runCli(args, { cwd: dir });
  assert.equal(weak.code, 1);
  const lint = find(big(weak), 'doctor.configuration', /defender\.enabled: false/);
  assert.equal(lint.subject, 'posture.defender-off');
  assert.match(lint.fix, /defender\.enabled: true/);

  // A malformed OSV record rejects the file, naming the record and the key; doctor exits 3.
  const broken = path.join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify([{ id: 'GHSA-bad-0001', modified: '2026-01-01', affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: 'not-a-version' }] }] }] }]));
  const bad = await runCli(['doctor', '--advisories', broken], { cwd: dir });
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /GHSA-bad-0001.*"not-a-version" is not a semantic version \[ERR_DOCTOR_ADVISORIES\]/);
  const usage = await runCli(['doctor', '--no-such-option'], { cwd: dir });
  assert.equal(usage.code, 3, 'a usage error is not "problems"');
});

test('clock skew against the configured URL, and a nearly full disk, are problems', async (t) => {
  const skewMs = 120_000;
  const srv = http.createServer((_req, res) => {
    res.setHeader('Date', new Date(Date.now() - skewMs).toUTCString());
    res.end('ok');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const url = `http://127.0.0.1:${(srv.address() as import('node:net').AddressInfo).port}/`;
  const dir = await makeTempDir(t, 'portcullis-doctor-');
  const config = parseConfig({ dataDir: dir, doctor: { clockUrl: url } });
  const lifecycle = loadLifecycle();
  const advisories = loadOsv();
  const report = await runDoctor({
    config,
    configFile: null,
    lifecycle,
    advisories,
    statfs: async () => ({ bsize: 4096, blocks: 1_000_000, bavail: 20_000, files: 100_000, ffree: 90_000 }),
  });
  const clock = find(report, 'doctor.clock', /ahead of/);
  assert.equal(clock.severity, 'problem');
  assert.match(clock.summary, /this clock is 1[12]\d\.\d s ahead of http:\/\/127\.0\.0\.1/);
  assert.match(clock.fix, /TOTP/);
  const disk = find(report, 'doctor.disk', /free of/);
  assert.equal(disk.severity, 'problem', '2% free');
  assert.match(disk.fix, /Free space/);

  const close = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => close.listen(0, '127.0.0.1', r));
  t.after(() => close.close());
  const fine = await runDoctor({ config: parseConfig({ dataDir: dir, doctor: { clockUrl: `http://127.0.0.1:${(close.address() as import('node:net').AddressInfo).port}/` } }), configFile: null, lifecycle, advisories });
  assert.equal(find(fine, 'doctor.clock', /this clock is/).severity, 'ok');
});

test('the server runs doctor on schedule: audited every run, alerted when a finding appears or goes', async (t) => {
  const ts = await startTestServer(t, { alerts: { suppressMinutes: 0 } });
  const records: AuditRecord[] = [];
  const unsubscribe = ts.server.core.audit.subscribe((r) => records.push(r));
  t.after(unsubscribe);
  assert.ok(ts.server.doctor.nextRun() instanceof Date, 'scheduled by default');

  const first = await ts.server.doctor.runOnce();
  assert.equal(records.filter((r) => r.type === 'doctor.run.completed').length, 1);
  const baseline = records.filter((r) => r.type === 'doctor.run.changed').length;
  assert.ok(baseline <= 1, 'the first run reports what it found once');
  assert.ok(first.findings.some((f) => f.id === 'doctor.store' && f.severity === 'ok'), 'the server checks its own open store');

  // Something breaks between two runs: a host key made readable by everyone.
  const key = path.join(ts.dataDir, 'ssh', 'ssh_host_ed25519_key');
  chmodSync(key, 0o644);
  await ts.server.doctor.runOnce();
  const changed = records.filter((r) => r.type === 'doctor.run.changed').at(-1)!;
  assert.equal(records.filter((r) => r.type === 'doctor.run.changed').length, baseline + 1);
  assert.ok(changed.type === 'doctor.run.changed');
  assert.equal(changed.worst, 'problem');
  assert.match(changed.added.join('\n'), /problem doctor\.permissions: .*ssh_host_ed25519_key is readable by every user/);
  await new Promise((r) => setImmediate(r));
  const alert = records.find((r) => r.type === 'alert.raised' && r.rule === 'doctor-change' && r.severity === 'critical');
  assert.ok(alert, 'the change is alerted through the alert rules');

  // An unchanged run says nothing new; the fix is reported as resolved.
  await ts.server.doctor.runOnce();
  assert.equal(records.filter((r) => r.type === 'doctor.run.changed').length, baseline + 1, 'no change, no alert');
  chmodSync(key, 0o600);
  await ts.server.doctor.runOnce();
  const resolved = records.filter((r) => r.type === 'doctor.run.changed').at(-1)!;
  assert.ok(resolved.type === 'doctor.run.changed');
  assert.match(resolved.resolved.join('\n'), /ssh_host_ed25519_key/);
  assert.equal(resolved.added.length, 0);
});
