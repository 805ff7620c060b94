// Scans for admins: the stored history (scheduled scans, posture runs, scans started by hand),
// one run with its reports, the diff of two runs (new / resolved / unchanged findings per target),
// and starting a scan of the server's own listeners or of a target named in scans.targets. The
// CLI's `scan history` / `scan diff` read through the same methods; a start needs the running
// server (the REST API) and is audited as `admin.scan.started` with the actor.
import type { Audit } from '../audit/audit.ts';
import { PortcullisError } from '../errors/index.ts';
import { ScanError } from '../scanner/errors.ts';
import { diffRuns, runStatus, type RunStatus, type TargetDiff } from '../scanner/history.ts';
import type { PlannedTarget, ScanSchedule } from '../scanner/schedule.ts';
import { parseTarget } from '../scanner/target.ts';
import type { Failure, ScanRun } from '../store/scan-repository.ts';
import type { Store } from '../store/store.ts';
import type { TargetReport } from '../scanner/types.ts';
import type { Actor } from './actor.ts';
import { recordChange } from './record-change.ts';

/** The running server's scanner (src/scanner/schedule.ts); absent in the CLI. */
export type ScanRunner = Pick<ScanSchedule, 'select' | 'startRun'>;

export interface ScanHistoryRow {
  runId: number;
  target: string;
  startedAt: string;
  reachable: boolean;
  failures: Failure[];
  kind: string;
  trigger: string;
  node: string;
}

export interface ScanRunView {
  id: number;
  kind: 'scan' | 'posture';
  trigger: string;
  node: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  score: number | null;
  summary: Record<string, unknown>;
  results: { target: string; startedAt: string; reachable: boolean; failures: Failure[]; report: TargetReport }[];
}

export interface ScanDiffView {
  runA: number;
  runB: number;
  targets: TargetDiff[];
}

export interface ScanStarted {
  id: number;
  status: 'running';
  targets: string[];
}

const runView = (r: ScanRun): ScanRunView => ({
  id: r.id,
  kind: r.kind,
  trigger: r.trigger,
  node: r.node,
  status: runStatus(r),
  startedAt: r.startedAt,
  finishedAt: r.finishedAt === '' ? null : r.finishedAt,
  score: r.score,
  summary: r.summary,
  results: r.results.map((x) => ({ target: x.target, startedAt: x.startedAt, reachable: x.reachable, failures: x.failures, report: x.report })),
});

/** A history cursor: the last row of the previous page, `<runId> <target>`, base64url. */
function parseCursor(cursor: string): { runId: number; target: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^([1-9]\d{0,15}) (\S{1,300})$/.exec(text);
  if (!m || Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw new PortcullisError('ERR_API_BAD_REQUEST', 'cursor: not a cursor from this API');
  return { runId: Number(m[1]), target: m[2]! };
}

export class ScanService {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit | null,
    private readonly runner: ScanRunner | null,
  ) {}

  /** Stored results newest first, of one target (any URL form: normalised) or all. */
  async history(target: string | undefined, limit: number): Promise<ScanHistoryRow[]> {
    return this.store.scans.history(target === undefined ? undefined : parseTarget(target).url, limit);
  }

  /** One page of `history`; `cursor` is the `next` of the previous page. */
  async page(target: string | undefined, limit: number, cursor: string | undefined): Promise<{ items: ScanHistoryRow[]; next: string | null }> {
    const url = target === undefined ? undefined : parseTarget(target).url;
    const rows = await this.store.scans.history(url, limit + 1, cursor === undefined ? undefined : parseCursor(cursor));
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? Buffer.from(`${last.runId} ${last.target}`, 'utf8').toString('base64url') : null };
  }

  async get(id: number): Promise<ScanRunView> {
    const run = await this.store.scans.run(id);
    if (!run) throw new ScanError('ERR_SCAN_RUN_NOT_FOUND', `no stored run ${id}`);
    return runView(run);
  }

  /** What changed from run `a` to run `b`, per target (both must have finished). */
  async diff(a: number, b: number): Promise<ScanDiffView> {
    const [ra, rb] = await Promise.all([this.store.scans.run(a), this.store.scans.run(b)]);
    if (!ra || !rb) throw new ScanError('ERR_SCAN_RUN_NOT_FOUND', `no stored run ${!ra ? a : b} (see \`portcullis scan history\`)`);
    for (const r of [ra, rb]) if (runStatus(r) === 'running') throw new ScanError('ERR_SCAN_IN_PROGRESS', `run ${r.id} has not finished`);
    return { runA: a, runB: b, targets: diffRuns(ra, rb) };
  }

  /**
   * Starts a scan of `target` (a listener's or a scans.targets URL; default: every listener of
   * this server) in the background and returns its run id at once. Unconfigured targets are
   * refused before anything is resolved or connected to.
   */
  async start(actor: Actor, target: string | undefined): Promise<ScanStarted> {
    if (!this.runner || !this.audit) throw new PortcullisError('ERR_CONTROL_UNAVAILABLE', 'scans are started by the running server (the REST API)');
    const planned: PlannedTarget[] = this.runner.select(target);
    const targets = planned.map((p) => p.url);
    const { runId } = await this.runner.startRun(actor.kind === 'cli' ? 'cli' : 'api', planned);
    recordChange(this.audit, actor, 'scan', 'started', String(runId), { after: { runId, targets } });
    return { id: runId, status: 'running', targets };
  }
}
