// Report formats: JSON schema shape, SARIF 2.1.0 structure, text grouping, self-contained HTML.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadAdvisories } from '../../src/scanner/advisories.ts';
import { exitCodeFor, render } from '../../src/scanner/cli.ts';
import { buildReport } from '../../src/scanner/scan.ts';
import { startFakeFtp } from './helpers/fake-ftp.ts';
import { scan } from './helpers/scan.ts';
import { validateSarif } from './sarif-validate.ts';
import type { ScanReport } from '../../src/scanner/types.ts';

interface Sarif {
  runs: { results: { ruleId: string }[]; tool: { driver: { rules: unknown[] } } }[];
}

const options = { allow: new Set<never>(), ca: [], timeoutMs: 5000, targetTimeoutMs: 60000, concurrency: 2, advisories: loadAdvisories() };

void describe('reports', () => {
  void test('JSON, SARIF, text and HTML from a weak target', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 Microsoft FTP Service <script>alert(1)</script>', syst: '215 Windows_NT', anonymous: true });
    const r = await scan(srv.url);
    const report = buildReport([r.report], options);

    const json = JSON.parse(render(report, 'json', false)) as ScanReport;
    assert.equal(json.schemaVersion, 1);
    assert.equal(json.targets[0]!.results.length, 44);
    for (const res of json.targets[0]!.results) {
      assert.ok(['fail', 'pass', 'not-applicable', 'error'].includes(res.status));
      for (const k of ['n', 'id', 'title', 'severity', 'layer', 'evidence', 'fix']) assert.ok(k in res, `${res.id} lacks ${k}`);
      if (res.status === 'error') assert.ok(res.reason && res.reasonCode, `${res.id} error without reason`);
    }
    assert.ok(json.summary.findings.high >= 2);

    const sarif = JSON.parse(render(report, 'sarif', false)) as Sarif;
    assert.deepEqual(validateSarif(sarif), []);
    const ruleIds = sarif.runs[0]!.results.map((x) => x.ruleId);
    assert.ok(ruleIds.includes('ftp.iis-exposed'));
    assert.ok(ruleIds.includes('ftp.anonymous-login'));
    assert.equal(sarif.runs[0]!.tool.driver.rules.length, 44);

    const plain = render(report, 'text', false);
    assert.ok(!plain.includes('\x1b['), 'no colour codes when not a terminal');
    assert.match(plain, /-- Access restriction \(access-restriction\)[\s\S]*ftp\.anonymous-login/);
    assert.match(plain, /fix: /);
    // eslint-disable-next-line no-control-regex
    assert.match(render(report, 'text', true), /\x1b\[/);

    const html = render(report, 'html', false);
    assert.ok(!html.includes('<script>'), 'banner text is escaped');
    assert.ok(!/(src|href)=["']?https?:/i.test(html), 'no external resources');
    assert.match(html, /ftp\.iis-exposed/);
  });

  void test('validator rejects a broken SARIF document', () => {
    assert.ok(validateSarif({ version: '2.0.0', runs: [{ tool: { driver: {} }, results: [{ ruleId: 'x' }] }] }).length >= 3);
  });

  void test('--fail-on thresholds', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ready', feat: [] });
    const report = buildReport([(await scan(srv.url)).report], options);
    // plaintext-only: a high finding
    assert.equal(exitCodeFor(report, 'none'), 0);
    assert.equal(exitCodeFor(report, 'high'), 1);
    assert.equal(exitCodeFor(report, 'critical'), 0);
  });
});
