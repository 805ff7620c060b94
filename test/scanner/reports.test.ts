// Report formats: JSON schema shape, SARIF 2.1.0 structure, text grouping, self-contained HTML.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadAdvisories } from '../../src/scanner/advisories.ts';
import { exitCodeFor, render } from '../../src/scanner/cli.ts';
import { buildReport } from '../../src/scanner/scan.ts';
import { startFakeFtp } from './helpers/fake-ftp.ts';
import { scan } from './helpers/scan.ts';
import { multitoolValidate, schemaValidate, validateSarif } from './sarif-validate.ts';
import { tempDir } from './helpers/certs.ts';
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
    // Skipped checks are linked to their rule; no sentence ends in a doubled period.
    const run = sarif.runs[0]! as unknown as { tool: { driver: { rules: { id: string }[] } }; invocations: { toolExecutionNotifications: { associatedRule?: { id: string; index: number }; descriptor?: unknown }[] }[] };
    const notes = run.invocations[0]!.toolExecutionNotifications;
    assert.ok(notes.length > 0);
    for (const n of notes) {
      assert.equal(n.descriptor, undefined);
      assert.equal(run.tool.driver.rules[n.associatedRule!.index]!.id, n.associatedRule!.id);
    }
    assert.ok(!/\.\.(\s|")/.test(JSON.stringify(sarif)), 'no doubled periods');
    const file = path.join(tempDir(t, 'pcscan-sarif-'), 'report.sarif');
    writeFileSync(file, render(report, 'sarif', false));
    assert.deepEqual(schemaValidate(JSON.parse(render(report, 'sarif', false))), []);
    assert.deepEqual(await multitoolValidate(file), []);

    const plain = render(report, 'text', false);
    assert.ok(!plain.includes('\x1b['), 'no colour codes when not a terminal');
    assert.match(plain, /-- Access restriction \(access-restriction\)[\s\S]*ftp\.anonymous-login/);
    assert.match(plain, /fix( \(Microsoft FTP Service\))?: /);
    assert.match(plain, /controls: PCI DSS 4\.0\.1 [\d.]+/);
    assert.ok(plain.split('\n').every((l) => l.length <= 140), 'text report lines are wrapped');
    // eslint-disable-next-line no-control-regex
    assert.match(render(report, 'text', true), /\x1b\[/);

    const html = render(report, 'html', false);
    assert.ok(!html.includes('<script>'), 'banner text is escaped');
    assert.ok(!/(src|href)=["']?https?:/i.test(html), 'no external resources');
    assert.match(html, /ftp\.iis-exposed/);
    assert.match(html, /Controls: PCI DSS 4\.0\.1 /);
    const rule = (sarif.runs[0]!.tool.driver.rules as { id: string; properties: { controls: { pci: string[] }; tags: string[] } }[]).find((x) => x.id === 'auth.no-bruteforce-protection')!;
    assert.deepEqual(rule.properties.controls.pci, ['8.3.4']);
    assert.ok(rule.properties.tags.includes('NIST-800-53/AC-7'));
    assert.ok(json.targets[0]!.results.every((x) => x.controls.pci.length > 0));
  });

  void test('probe files the scanner could not delete are a warning at the top of every format', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ready', anonymous: true, writable: true, undeletable: true });
    const r = await scan(srv.url, { allow: ['writes'] });
    assert.equal(r.get('ftp.anonymous-write').status, 'fail');
    const left = r.report.leftovers ?? [];
    assert.equal(left.length, 2, JSON.stringify(left));
    assert.ok(left.some((l) => /^directory \/pcscan-probe-/.test(l)) && left.some((l) => /^file \/pcscan-probe-.*\.txt \(DELE: 550/.test(l)), JSON.stringify(left));
    assert.deepEqual([...srv.files.keys()].map((f) => `file /${f}`), left.filter((l) => l.startsWith('file')).map((l) => l.replace(/ \(.*$/, '')));
    const report = buildReport([r.report], options);
    const text = render(report, 'text', false);
    assert.match(text.split('\n')[0]!, /^WARNING: write probes left these on the targets/);
    assert.ok(text.indexOf('pcscan-probe-') < text.indexOf('== '));
    const html = render(report, 'html', false);
    assert.ok(html.indexOf('class="warn"') < html.indexOf('<section>'));
    const sarif = JSON.parse(render(report, 'sarif', false)) as { runs: { invocations: { toolExecutionNotifications: { message: { text: string } }[] }[] }[] };
    assert.ok(sarif.runs[0]!.invocations[0]!.toolExecutionNotifications.some((n) => /Write probe left file \/pcscan-probe-/.test(n.message.text)));
    assert.deepEqual(schemaValidate(sarif), []);
  });

  void test('HTML: per-target summary counts, layer names in words, what was not checked shown without unfolding', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 Microsoft FTP Service', syst: '215 Windows_NT' });
    const html = render(buildReport([(await scan(srv.url)).report], options), 'html', false);
    assert.match(html, /<table class="summary"><tr><th>critical<\/th><th>high<\/th>/);
    assert.match(html, /<h3>Access restriction<\/h3>/);
    assert.ok(!/<h3>access-restriction<\/h3>/.test(html));
    const details = html.indexOf('<details>');
    const notChecked = html.indexOf('<h3>Not checked');
    assert.ok(notChecked > 0 && notChecked < details, 'not-checked list outside <details>');
  });

  void test('validator rejects a broken SARIF document', () => {
    assert.ok(validateSarif({ version: '2.0.0', runs: [{ tool: { driver: {} }, results: [{ ruleId: 'x' }] }] }).length >= 3);
    assert.ok(schemaValidate({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'm' }, level: 'bogus' }] }] }).length >= 1);
    // The notification form this scanner used to write: `descriptor` there names a notification
    // descriptor, so a skipped check was not linked to its rule (associatedRule is).
    assert.deepEqual(schemaValidate({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, invocations: [{ executionSuccessful: true, toolExecutionNotifications: [{ message: { text: 'm' }, associatedRule: { id: 'a', index: 0 } }] }] }] }), []);
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
