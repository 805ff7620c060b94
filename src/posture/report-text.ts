// The posture report for a terminal: a score per layer, then what to change (worst first),
// then what could not be checked, then the informational notes.
import { LAYER_TITLES, SEV_COLOUR } from '../scanner/report-text.ts';
import { LAYERS, severityRank } from '../scanner/types.ts';
import type { PostureReport, PostureResult } from './posture.ts';

export function formatPostureText(report: PostureReport, colour: boolean): string {
  const c = (code: string, s: string): string => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const s = report.server;
  const out: string[] = [
    c('1', 'Portcullis posture') + ` — server ${s.version} (pid ${s.pid}, up since ${s.startedAt}) on Node.js ${s.node}`,
    `  configuration: ${s.configFile ?? 'built-in defaults'}${s.fromEnv.length ? ` + environment (${s.fromEnv.join(', ')})` : ''}; data dir ${s.dataDir}`,
    `  scanned: ${report.listeners.map((l) => `${l.url} (${l.name})`).join(', ') || 'no listener'}`,
    '',
  ];
  for (const l of report.layers) {
    const above = (['critical', 'high', 'medium', 'low'] as const).filter((k) => l.findings[k] > 0).map((k) => `${l.findings[k]} ${k}`);
    const notes = [...above, ...(l.findings.info ? [`${l.findings.info} info`] : []), ...(l.notChecked ? [`${l.notChecked} not checked`] : [])];
    const score = `${String(l.score).padStart(3)}/100`;
    out.push(`  ${LAYER_TITLES[l.layer]!.padEnd(30)} ${c(l.score === 100 ? '32;1' : l.score >= 75 ? '33;1' : '31;1', score)}${notes.length ? `   ${notes.join(', ')}` : ''}`);
  }
  out.push(`  ${'Overall (weakest layer)'.padEnd(30)} ${c('1', `${String(report.overall).padStart(3)}/100`)}`, '');

  const fails = report.results.filter((r) => r.status === 'fail');
  const toFix = fails.filter((r) => r.severity !== 'info');
  if (toFix.length === 0) out.push(c('32;1', 'Nothing to fix: no finding above info.'));
  else {
    out.push(c('1', `What to change (${toFix.length})`));
    for (const layer of LAYERS) {
      for (const r of toFix.filter((x) => x.layer === layer).sort((a, b) => severityRank(b.severity) - severityRank(a.severity))) out.push(...finding(r, c));
    }
  }
  const errors = report.results.filter((r) => r.status === 'error');
  if (errors.length) {
    out.push('', c('1', `Not checked (${errors.length})`));
    // One line per check and reason, naming the listeners it concerns.
    const grouped = new Map<string, string[]>();
    for (const r of errors) {
      const key = `${r.id}: ${r.reason ?? 'error'}`;
      grouped.set(key, [...(grouped.get(key) ?? []), ...(r.target ? [r.target] : [])]);
    }
    for (const [key, targets] of grouped) {
      const [id, ...reason] = key.split(': ');
      out.push(`   ${id}${targets.length ? ` (${targets.join(', ')})` : ''}: ${reason.join(': ')}`);
    }
    out.push('   (posture neither logs in nor guesses passwords on its own server; for these, run `portcullis scan` with --user and --password-stdin or --allow intrusive from a host on defender.safeList)');
  }
  const info = fails.filter((r) => r.severity === 'info');
  if (info.length) {
    out.push('', c('1', `Notes (${info.length}, no points lost)`));
    for (const r of info) out.push(...finding(r, c));
  }
  const settled = report.results.filter((r) => r.settledBy);
  for (const r of settled) out.push('', `   ${r.id} on ${r.target}: the scan alone would flag it; settled by ${r.settledBy} (${r.evidence.at(-1)})`);
  const counts = { pass: 0, 'not-applicable': 0 };
  for (const r of report.results) if (r.status === 'pass' || r.status === 'not-applicable') counts[r.status]++;
  const h = report.history;
  if (h && h.lastScans.length > 0) {
    out.push('', c('1', `Last scheduled scan of each target (${h.lastScans.length})`));
    for (const l of h.lastScans) {
      const above = (['critical', 'high', 'medium', 'low'] as const).filter((k) => l.findings[k] > 0).map((k) => `${l.findings[k]} ${k}`);
      out.push(`   ${l.target}: run ${l.runId} at ${l.at}${l.reachable ? '' : ', not reachable'}: ${above.length ? above.join(', ') : 'nothing above info'}`);
    }
  }
  if (h) out.push('', `Stored as run ${h.runId}${h.previous ? `; previous run ${h.previous.runId} scored ${h.previous.score}${report.overall < h.previous.score ? c('31;1', ` (dropped to ${report.overall})`) : ''}` : ''} (portcullis scan history)`);
  out.push('', `${report.results.length} checks: ${fails.length} findings, ${counts.pass} passed, ${counts['not-applicable']} not applicable, ${errors.length} not checked; lifecycle data of ${report.lifecycle.date}`);
  return out.join('\n') + '\n';
}

function finding(r: PostureResult, c: (code: string, s: string) => string): string[] {
  const lines = [`   ${c(SEV_COLOUR[r.severity] ?? '0', `[${r.severity.toUpperCase()}]`)} ${r.id}${r.target ? ` on ${r.target}` : ''}: ${r.title}`];
  for (const e of r.evidence) lines.push(`       evidence: ${e}`);
  lines.push(`       fix: ${r.fix}`);
  return lines;
}
