// Posture history: every `portcullis posture` run is stored with the scheduled scans
// (scan_runs kind "posture", one scan_results row per listener), compared with the previous
// run's score (a drop is audited as `posture.score.dropped` and alerted by the server, which
// follows the store's chain), and the report shows the last scheduled scan of each target.
import os from 'node:os';
import type { Audit } from '../audit/audit.ts';
import { SEVERITIES, type Severity } from '../scanner/types.ts';
import { failuresOf, type ScanRepository } from '../store/scan-repository.ts';
import type { PostureHistory, PostureReport } from './posture.ts';

export async function recordPosture(report: PostureReport, scans: ScanRepository, audit: Audit, startedAt: Date): Promise<PostureHistory> {
  const lastScans = (await scans.latestPerTarget('scan')).map((r) => {
    const findings = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    for (const f of r.failures) findings[f.severity]++;
    return { target: r.target, runId: r.runId, at: r.startedAt, reachable: r.reachable, findings };
  });
  const previous = await scans.lastPosture();
  const layers = Object.fromEntries(report.layers.map((l) => [l.layer, l.score]));
  const runId = await scans.addRun({
    kind: 'posture',
    trigger: 'cli',
    node: os.hostname(),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    score: report.overall,
    summary: { layers, overall: report.overall },
    results: report.scan.targets.map((t) => ({ report: t, failures: failuresOf(t) })),
  });
  if (previous && report.overall < previous.score) {
    const before = (previous.summary.layers ?? {}) as Record<string, number>;
    const dropped = report.layers.filter((l) => before[l.layer] !== undefined && l.score < before[l.layer]!).map((l) => `${l.layer} ${before[l.layer]}→${l.score}`);
    audit.emit({ type: 'posture.score.dropped', protocol: 'cli', runId, previous: previous.score, score: report.overall, layers: dropped });
  }
  return { runId, previous: previous ? { runId: previous.runId, score: previous.score } : null, lastScans };
}
