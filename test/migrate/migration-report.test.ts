// `portcullis migrate report`: the plan, the log analysis and scans of a fake IIS endpoint and of
// a real Portcullis server, layer by layer.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildMigrationReport, formatMigrationReport } from '../../src/migrate/migration-report.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir, startTestServer } from '../helpers/server.ts';
import { startFakeFtp } from '../scanner/helpers/fake-ftp.ts';
import { ADMINISTRATION_CONFIG, applicationHost } from './iis-config-fixtures.ts';
import { writeIisLogs } from './iis-log-fixtures.ts';

void test('the before and after: plan + logs + a scan of a fake IIS endpoint and of the new server, in text, JSON and HTML', { timeout: 180_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const app = path.join(dir, 'applicationHost.config');
  const admin = path.join(dir, 'administration.config');
  writeFileSync(app, applicationHost());
  writeFileSync(admin, ADMINISTRATION_CONFIG);
  const logs = path.join(dir, 'logs');
  writeIisLogs(logs);
  const out = path.join(dir, 'out');
  const plan = await runCli(['migrate', 'iis', app, '--admin-config', admin, '--site', 'Partners', '--logs', logs, '--out', out, '--no-progress']);
  assert.equal(plan.code, 0, plan.stderr);
  const analysis = await runCli(['migrate', 'iis-logs', logs, '--format', 'json', '--output', path.join(dir, 'logs.json'), '--no-progress']);
  assert.equal(analysis.code, 0, analysis.stderr);

  const iis = await startFakeFtp(t, { greeting: '220 Microsoft FTP Service', syst: '215 Windows_NT', users: { alice: 'secret' } });
  const srv = await startTestServer(t);
  const r = await buildMigrationReport({ plan: path.join(out, 'iis-import-plan.json'), logs: path.join(dir, 'logs.json'), old: iis.url, new: `sftp://127.0.0.1:${srv.port('sftp')}`, timeout: 5 });
  assert.equal(r.site, 'Partners');
  assert.deepEqual(r.layers.map((l) => l.layer), ['secure-protocol', 'encryption', 'mfa', 'access-restriction', 'monitoring', 'patching']);
  const layer = (n: string) => r.layers.find((l) => l.layer === n)!;
  assert.ok(layer('encryption').old.some((x) => /control channel SslAllow, data channel SslAllow/.test(x)));
  assert.ok(layer('encryption').old.some((x) => /2 of 4 active accounts logged in without TLS/.test(x)));
  assert.ok(layer('mfa').new.some((x) => /TOTP required/.test(x)));
  // The fake IIS speaks plain FTP: the old side has findings the new side does not.
  const oldFails = r.layers.flatMap((l) => l.oldFindings);
  assert.ok(oldFails.length > 0, 'the legacy endpoint has findings');
  assert.ok(oldFails.some((x) => /^(critical|high): /.test(x)), oldFails.join('\n'));
  assert.ok(!r.layers.flatMap((l) => l.newFindings).some((x) => /^(critical|high): /.test(x)), r.layers.flatMap((l) => l.newFindings).join('\n'));
  assert.match(r.summary.at(-1)!, /^Scans: old \d+ findings, new \d+ findings\.$/);
  assert.ok(r.openItems.some((x) => /^server certificate/.test(x)));
  assert.ok(r.users.some((u) => u.name === 'alice' && u.clearText), 'alice logged in without TLS on IIS');
  const text = formatMigrationReport(r, 'text');
  assert.match(text, /^Migration report: IIS FTP site "Partners" → Portcullis/);
  assert.match(text, /== Second factor \(mfa\)\n {2}before \(IIS\):\n {4}- none/);
  const html = formatMigrationReport(r, 'html');
  assert.match(html, /<th>layer<\/th><th>before \(IIS\)<\/th><th>after \(Portcullis\)<\/th>/);
  assert.ok(!html.includes('<script'), 'no script in the report');

  // the real command, from saved scans
  writeFileSync(path.join(dir, 'old.json'), JSON.stringify({ schemaVersion: 1, targets: [] }));
  const cmd = await runCli(['migrate', 'report', '--plan', path.join(out, 'iis-import-plan.json'), '--old-scan', path.join(dir, 'old.json'), '--format', 'html', '--output', path.join(dir, 'report.html')]);
  assert.equal(cmd.code, 0, cmd.stderr);
  assert.match(readFileSync(path.join(dir, 'report.html'), 'utf8'), /<title>Migration report: Partners<\/title>/);
  const bad = await runCli(['migrate', 'report', '--plan', path.join(dir, 'logs.json')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not an import plan .*\[ERR_MIGRATE_INPUT\]/);
});
