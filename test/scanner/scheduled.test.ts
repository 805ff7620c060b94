// Scheduled scans end to end: the server scans a target whose banner and behaviour change
// between runs (a fake FTPS server), stores every report, computes new / resolved / unchanged
// findings, audits and alerts on new findings at or above scans.alertSeverity and on a
// certificate that expires within 30 days; `scan history` and `scan diff` read the store; a
// node that does not hold the lease does not scan.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { AuditRecord } from '../../src/audit/events.ts';
import { SCAN_LEASE } from '../../src/scanner/schedule.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer } from '../helpers/server.ts';
import { goodCert } from './helpers/certs.ts';
import { startFakeFtp } from './helpers/fake-ftp.ts';

test('scheduled scans store history, diff runs, alert on new findings and an expiring certificate, and run on one node', async (t) => {
  const cert = goodCert(t); // valid for 30 days: within scans.certificateDays
  const options = { greeting: '220 FTP server ready', explicitTls: { key: cert.key, cert: cert.cert }, requireTls: true };
  const fake = await startFakeFtp(t, options);
  const ts = await startTestServer(t, {
    alerts: { suppressMinutes: 0 },
    scans: { ownListeners: false, targets: [{ url: fake.url, caFile: path.join(path.dirname(cert.certFile), 'ca.pem') }], alertSeverity: 'high', timeoutSeconds: 5, targetTimeoutSeconds: 60 },
  });
  const records: AuditRecord[] = [];
  t.after(ts.server.core.audit.subscribe((r) => records.push(r)));
  const of = <T extends AuditRecord['type']>(type: T) => records.filter((r): r is Extract<AuditRecord, { type: T }> => r.type === type);
  assert.ok(ts.server.scans.nextRun() instanceof Date, 'scheduled by default');

  // Run 1: a well-behaved FTPS server.
  const first = (await ts.server.scans.runOnce())!;
  assert.ok(first, 'this node took the lease');
  assert.equal(first.reports.length, 1);
  assert.equal(first.reports[0]!.reachable, true);
  assert.ok(first.reports[0]!.certificate, 'the scan keeps the certificate it saw');
  const expiring = of('scan.certificate.expiring').at(-1)!;
  assert.equal(expiring.target, fake.url);
  assert.ok(expiring.daysLeft <= 30 && expiring.daysLeft >= 28, String(expiring.daysLeft));
  await new Promise((r) => setImmediate(r));
  assert.ok(records.some((r) => r.type === 'alert.raised' && r.rule === 'scan-certificate-expiry'), 'the expiring certificate is alerted');
  assert.ok(!first.diffs[0]!.new.some((f) => f.id === 'ftp.vsftpd-backdoor'));

  // Run 2: the target now announces a backdoored vsftpd and takes logins before AUTH TLS.
  options.greeting = '220 (vsFTPd 2.3.4)';
  options.requireTls = false;
  const second = (await ts.server.scans.runOnce())!;
  const d2 = second.diffs[0]!;
  assert.equal(d2.before, first.runId);
  assert.equal(d2.after, second.runId);
  assert.ok(d2.new.some((f) => f.id === 'ftp.vsftpd-backdoor' && f.severity === 'critical'), JSON.stringify(d2.new));
  assert.ok(d2.unchanged.length > 0, 'what did not change is unchanged');
  const alerted = of('scan.findings.new').at(-1)!;
  assert.equal(alerted.runId, second.runId);
  assert.equal(alerted.worst, 'critical');
  assert.match(alerted.findings.join('\n'), /critical ftp\.vsftpd-backdoor/);
  assert.ok(alerted.findings.every((f) => /^(high|critical) /.test(f)), 'only findings at or above scans.alertSeverity');
  await new Promise((r) => setImmediate(r));
  assert.ok(records.some((r) => r.type === 'alert.raised' && r.rule === 'scan-new-findings' && r.severity === 'critical'));

  // Run 3: fixed again.
  options.greeting = '220 FTP server ready';
  options.requireTls = true;
  const newBefore = of('scan.findings.new').length;
  const third = (await ts.server.scans.runOnce())!;
  assert.ok(third.diffs[0]!.resolved.some((f) => f.id === 'ftp.vsftpd-backdoor'));
  assert.equal(of('scan.findings.new').length, newBefore, 'nothing new, no alert');
  assert.equal(of('scan.run.completed').length, 3);

  // The command line reads the same history.
  const cfg = path.join(ts.dataDir, '..', 'portcullis.yaml');
  writeFileSync(cfg, `dataDir: ${ts.dataDir}\n`);
  const history = await runCli(['-c', cfg, 'scan', 'history', fake.url]);
  assert.equal(history.code, 0, history.stderr);
  for (const id of [first.runId, second.runId, third.runId]) assert.match(history.stdout, new RegExp(`^${id} .*scan/schedule +${fake.url.replace(/[/.]/g, '\\$&')} +yes`, 'm'));
  assert.match(history.stdout, new RegExp(`^${second.runId} .*\\b\\d+ critical\\b`, 'm'));
  const diff = await runCli(['-c', cfg, 'scan', 'diff', String(first.runId), String(second.runId)]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /^ {2}\+ \[CRITICAL\] ftp\.vsftpd-backdoor/m);
  assert.match(diff.stdout, /\d+ new, \d+ resolved, \d+ unchanged/);
  const json = await runCli(['-c', cfg, 'scan', 'diff', String(second.runId), String(third.runId), '--json']);
  const parsed = JSON.parse(json.stdout) as { targets: { resolved: { id: string }[] }[] };
  assert.ok(parsed.targets[0]!.resolved.some((f) => f.id === 'ftp.vsftpd-backdoor'));
  const missing = await runCli(['-c', cfg, 'scan', 'diff', '1', '999']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no stored run 999 .*\[ERR_SCAN_RUN_NOT_FOUND\]/);

  // In a cluster exactly one node runs a slot: after a scheduled run this node keeps the lease
  // until just before the next slot, so a node whose timer fired late for the same slot skips.
  const repo = ts.server.core.store.scans;
  const soon = new Date(Date.now() + 600_000);
  assert.equal(await repo.acquireLease(SCAN_LEASE, 'other-node', new Date(), soon), false, 'a live lease is not taken over');
  // At the next slot the lease has expired: whichever node comes first takes it, the other skips.
  assert.ok(await repo.acquireLease(SCAN_LEASE, 'other-node', ts.server.scans.nextRun()!, soon));
  assert.equal(await ts.server.scans.runOnce(), null);
  assert.equal(of('scan.run.skipped').length, 1);
  await repo.releaseLease(SCAN_LEASE, 'other-node');
  // A run started by hand (not a schedule slot) gives the lease back at once.
  assert.ok(await ts.server.scans.runOnce('manual'));
  assert.ok(await repo.acquireLease(SCAN_LEASE, 'other-node', new Date(), soon));
  await repo.releaseLease(SCAN_LEASE, 'other-node');
});

test('a scheduled scan of the server’s own listeners (the default) stores each listener and bans nobody', async (t) => {
  // The defender on, as in production: the probes come from loopback and must not ban it.
  const ts = await startTestServer(t, { defender: { enabled: true }, rateLimits: { connectionsPerSecond: 10 }, scans: { timeoutSeconds: 5, targetTimeoutSeconds: 60 } });
  const run = (await ts.server.scans.runOnce())!;
  assert.deepEqual(run.reports.map((r) => r.target.scheme).sort(), ['ftp', 'ftps', 'sftp']);
  assert.ok(run.reports.every((r) => r.reachable));
  assert.ok(run.reports.filter((r) => r.target.scheme !== 'sftp').every((r) => r.certificate !== undefined), 'the FTPS listeners showed their certificate');
  assert.equal(ts.server.core.access.defender.activeBans.length, 0, 'the self-scan banned nobody');
  const stored = (await ts.server.core.store.scans.run(run.runId))!;
  assert.equal(stored.results.length, 3);
  assert.equal(stored.kind, 'scan');
  // The generated certificate is valid for 397 days: no expiry alert.
  assert.ok(run.diffs.every((d) => d.before === null), 'a first run: nothing to compare with');
});
