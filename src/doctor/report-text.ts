// The doctor report for a terminal or a log: one line per finding, worst first within each
// area, each with its severity and, when there is something to do, the fix.
import type { DoctorFinding, DoctorReport, DoctorSeverity } from './types.ts';

const LABEL: Record<DoctorSeverity, string> = { ok: 'OK', info: 'INFO', 'not-checked': 'SKIP', warning: 'WARN', problem: 'PROBLEM' };
const COLOUR: Record<DoctorSeverity, string> = { ok: '32', info: '36', 'not-checked': '2', warning: '33;1', problem: '31;1' };

export function formatDoctorLine(f: DoctorFinding, colour = false): string[] {
  const label = LABEL[f.severity].padEnd(7);
  const out = [`${colour ? `\x1b[${COLOUR[f.severity]}m${label}\x1b[0m` : label} ${f.id}: ${f.summary}`];
  for (const e of f.evidence) out.push(`        ${e}`);
  if (f.fix && f.severity !== 'ok') out.push(`        fix: ${f.fix}`);
  return out;
}

export function formatDoctorText(report: DoctorReport, colour: boolean, verbose = true): string {
  const out = [`Portcullis doctor on ${report.host}, Node.js ${report.node}, ${report.generatedAt}`, `  data: lifecycle of ${report.data.lifecycle.date}, advisories of ${report.data.advisories.date} (${report.data.advisories.records} records, ${report.data.advisories.file})`, ''];
  for (const f of report.findings) if (verbose || f.severity !== 'ok') out.push(...formatDoctorLine(f, colour));
  const c = report.counts;
  out.push('', `${report.status.toUpperCase()}: ${c.problem} problem${c.problem === 1 ? '' : 's'}, ${c.warning} warning${c.warning === 1 ? '' : 's'}, ${c.info} note${c.info === 1 ? '' : 's'}, ${c['not-checked']} not checked, ${c.ok} ok (exit ${report.exitCode})`);
  return out.join('\n') + '\n';
}
