// Comparing scan results over time: for one target, the findings that are new, resolved and
// unchanged since its previous result; for two stored runs, the same per target.
import type { Failure, ScanRun } from '../store/scan-repository.ts';
import { severityRank, type Severity } from './types.ts';

export interface TargetDiff {
  target: string;
  /** Null: the target was not in the earlier run (everything found is new). */
  before: number | null;
  after: number | null;
  new: Failure[];
  resolved: Failure[];
  unchanged: Failure[];
}

/** A finding is its check id (severity changes show as the newer severity under `unchanged`). */
export function diffFailures(target: string, before: Failure[] | null, after: Failure[] | null, runs: { before: number | null; after: number | null }): TargetDiff {
  const b = new Map((before ?? []).map((f) => [f.id, f]));
  const a = new Map((after ?? []).map((f) => [f.id, f]));
  return {
    target,
    ...runs,
    new: [...a.values()].filter((f) => !b.has(f.id)),
    resolved: [...b.values()].filter((f) => !a.has(f.id)),
    unchanged: [...a.values()].filter((f) => b.has(f.id)),
  };
}

/** Two stored runs, target by target (targets of either run). */
export function diffRuns(a: ScanRun, b: ScanRun): TargetDiff[] {
  const targets = [...new Set([...a.results.map((r) => r.target), ...b.results.map((r) => r.target)])].sort();
  return targets.map((t) => {
    const ra = a.results.find((r) => r.target === t);
    const rb = b.results.find((r) => r.target === t);
    return diffFailures(t, ra?.failures ?? null, rb?.failures ?? null, { before: ra ? a.id : null, after: rb ? b.id : null });
  });
}

export function worstOf(list: Failure[]): Severity | null {
  return list.reduce<Severity | null>((w, f) => (w === null || severityRank(f.severity) > severityRank(w) ? f.severity : w), null);
}

export function formatDiffText(diffs: TargetDiff[], a: number, b: number): string {
  const out = [`Scan run ${a} → run ${b}`];
  for (const d of diffs) {
    const state = d.before === null ? ' (not in the first run)' : d.after === null ? ' (not in the second run)' : '';
    out.push('', `${d.target}${state}: ${d.new.length} new, ${d.resolved.length} resolved, ${d.unchanged.length} unchanged`);
    for (const f of d.new) out.push(`  + [${f.severity.toUpperCase()}] ${f.id}: ${f.title}`);
    for (const f of d.resolved) out.push(`  - [${f.severity.toUpperCase()}] ${f.id}: ${f.title}`);
    for (const f of d.unchanged) out.push(`  = [${f.severity.toUpperCase()}] ${f.id}: ${f.title}`);
  }
  return out.join('\n') + '\n';
}

/** What a stored run's `summary.status` says, and what `GET /v1/scans/{id}` shows. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

/** A stored run's status: `running` until it finishes, `interrupted` when its deadline passed first. */
export function runStatus(run: { finishedAt: string; summary: Record<string, unknown> }, now = Date.now()): RunStatus {
  const status = run.summary.status;
  if (run.finishedAt === '') return typeof run.summary.deadline === 'string' && Date.parse(run.summary.deadline) < now ? 'interrupted' : 'running';
  return status === 'failed' ? 'failed' : 'completed';
}
