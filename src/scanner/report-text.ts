import { CATALOGUE } from './catalogue.ts';
import { formatControls } from './controls.ts';
import { LIMITS } from './limits.ts';
import { LAYERS, SEVERITIES, severityRank, type CheckResult, type ScanReport } from './types.ts';

export const LAYER_TITLES: Record<string, string> = {
  'secure-protocol': 'Secure protocols',
  encryption: 'Encryption',
  mfa: 'Multi-factor authentication',
  'access-restriction': 'Access restriction',
  monitoring: 'Monitoring',
  patching: 'Patching',
};

export const SEV_COLOUR: Record<string, string> = { critical: '35;1', high: '31;1', medium: '33', low: '36', info: '37' };

export function formatText(report: ScanReport, colour: boolean): string {
  const c = (code: string, s: string): string => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[] = [];
  const left = leftovers(report);
  if (left.length) {
    out.push(c('33;1', 'WARNING: write probes left these on the targets; remove them by hand:'), ...left.map((l) => `   ${l}`), '');
  }
  for (const t of report.targets) {
    out.push(c('1', `== ${t.target.url}`) + `  (${t.reachable ? 'reachable' : 'NOT reachable'}, ${(t.durationMs / 1000).toFixed(1)} s)`);
    if (t.banner) out.push(`   banner: ${t.banner.split('\n')[0]}`);
    const fails = t.results.filter((r) => r.status === 'fail');
    for (const layer of LAYERS) {
      const inLayer = fails.filter((r) => r.layer === layer).sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.n - b.n);
      if (!inLayer.length) continue;
      out.push('', c('1', `-- ${LAYER_TITLES[layer]} (${layer})`));
      for (const r of inLayer) out.push(...formatFinding(r, c));
    }
    if (!fails.length) out.push('', '   no findings');
    const errors = t.results.filter((r) => r.status === 'error');
    if (errors.length) {
      out.push('', c('1', `-- Not checked (${errors.length})`));
      for (const r of errors) out.push(`   ${r.id}: ${r.reason ?? 'error'}`);
    }
    const counts = { pass: 0, 'not-applicable': 0 };
    for (const r of t.results) if (r.status === 'pass' || r.status === 'not-applicable') counts[r.status]++;
    out.push('', `   ${fails.length} failed, ${counts.pass} passed, ${counts['not-applicable']} not applicable, ${errors.length} not checked (of ${CATALOGUE.length} checks)`, '');
  }
  const f = report.summary.findings;
  out.push(`Summary: ${report.summary.targets} target(s); findings: ${[...SEVERITIES].reverse().map((s) => `${f[s]} ${s}`).join(', ')}`);
  return out.join('\n') + '\n';
}

function formatFinding(r: CheckResult, c: (code: string, s: string) => string): string[] {
  const lines = [`   ${c(SEV_COLOUR[r.severity] ?? '0', `[${r.severity.toUpperCase()}]`)} ${r.title}${r.potential ? ' (potential)' : ''} [${r.id}]`];
  for (const e of r.evidence) lines.push(...wrap('evidence: ', e));
  lines.push(...wrap(`fix${r.fixFor ? ` (${r.fixFor})` : ''}: `, r.fix));
  lines.push(...wrap('controls: ', formatControls(r.controls)));
  return lines;
}

/** `label` then `text`, wrapped at LIMITS.textWrapColumns, continuation lines indented under the text. */
export function wrap(label: string, text: string, indent = 7): string[] {
  const width = Math.max(40, LIMITS.textWrapColumns - indent - label.length);
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out.map((l, i) => `${' '.repeat(indent)}${i === 0 ? label : ' '.repeat(label.length)}${l}`);
}

/** Everything a write probe created and could not remove, one line each, prefixed with the target. */
export function leftovers(report: ScanReport): string[] {
  return report.targets.flatMap((t) => (t.leftovers ?? []).map((l) => `${t.target.url}: ${l}`));
}
