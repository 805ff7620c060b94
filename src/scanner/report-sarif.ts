// SARIF 2.1.0 output: one rule per catalogue check (ruleId = check id), one result per failure.
import { CATALOGUE } from './catalogue.ts';
import { formatControls } from './controls.ts';
import type { ScanReport, Severity } from './types.ts';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub code scanning reads properties.security-severity (CVSS-like 0-10). */
const SCORE: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

/** Joins parts into sentences with exactly one period after each (no "..", no missing stop). */
export function sentence(...parts: string[]): string {
  return parts.map((p) => p.trim().replace(/[.\s]+$/, '') + '.').join(' ');
}

export function formatSarif(report: ScanReport): string {
  const rules = CATALOGUE.map((m) => ({
    id: m.id,
    name: m.id.replace(/[.-](\w)/g, (_x, ch: string) => ch.toUpperCase()),
    shortDescription: { text: m.title },
    fullDescription: { text: sentence(m.title, `Probes: ${m.probe}`, `How: ${m.how}`, `Controls: ${formatControls(m.controls)}`) },
    help: { text: m.fix },
    defaultConfiguration: { level: LEVEL[m.severity] },
    properties: {
      tags: ['security', m.layer, ...m.modes, ...m.controls.pci.map((x) => `PCI-DSS-4.0.1/${x}`), ...m.controls.nist.map((x) => `NIST-800-53/${x}`), ...m.controls.cis.map((x) => `CIS-v8/${x}`)],
      'security-severity': SCORE[m.severity],
      layer: m.layer,
      catalogueNumber: m.n,
      controls: m.controls,
    },
  }));
  const ruleIndex = new Map(CATALOGUE.map((m, i) => [m.id, i]));
  const results = report.targets.flatMap((t) =>
    t.results
      .filter((r) => r.status === 'fail')
      .map((r) => ({
        ruleId: r.id,
        ruleIndex: ruleIndex.get(r.id)!,
        level: LEVEL[r.severity],
        message: { text: sentence(`${r.title}${r.potential ? ' (potential)' : ''} on ${t.target.url}`, `Evidence: ${r.evidence.join(' / ')}`, `Fix${r.fixFor ? ` (${r.fixFor})` : ''}: ${r.fix}`, `Controls: ${formatControls(r.controls)}`) },
        locations: [{ physicalLocation: { artifactLocation: { uri: t.target.url } } }],
        properties: { severity: r.severity, 'security-severity': SCORE[r.severity], layer: r.layer, potential: r.potential === true, evidence: r.evidence, controls: r.controls, ...(r.fixFor ? { fixFor: r.fixFor } : {}) },
      })),
  );
  const notRun = report.targets.flatMap((t) =>
    t.results
      .filter((r) => r.status === 'error')
      .map((r) => ({
        level: 'warning' as const,
        message: { text: sentence(`${r.id} not checked on ${t.target.url}: ${r.reason ?? 'error'}`) },
        // The rule the notification is about (descriptor would name a notification descriptor).
        associatedRule: { id: r.id, index: ruleIndex.get(r.id)! },
      })),
  );
  const left = report.targets.flatMap((t) =>
    (t.leftovers ?? []).map((l) => ({ level: 'warning' as const, message: { text: sentence(`Write probe left ${l} on ${t.target.url}; remove it by hand`) } })),
  );
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'portcullis-scan',
            version: report.tool.version,
            informationUri: 'https://github.com/portcullis/portcullis/blob/main/docs/scanner.md',
            rules,
          },
        },
        invocations: [{ executionSuccessful: true, toolExecutionNotifications: [...left, ...notRun] }],
        results,
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}
