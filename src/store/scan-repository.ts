// Scan and posture history (issue 18): every run with its targets' reports, the previous result
// of a target (for new / resolved / unchanged), and the lease that lets exactly one node of a
// cluster run the scheduled scans.
import { type Kysely, sql } from 'kysely';
import type { Severity, TargetReport } from '../scanner/types.ts';
import type { Database } from './schema.ts';

export interface Failure {
  id: string;
  severity: Severity;
  title: string;
}

export interface ScanResultRow {
  runId: number;
  target: string;
  startedAt: string;
  reachable: boolean;
  failures: Failure[];
}

export interface ScanRun {
  id: number;
  kind: 'scan' | 'posture';
  trigger: string;
  node: string;
  startedAt: string;
  finishedAt: string;
  score: number | null;
  summary: Record<string, unknown>;
  results: (ScanResultRow & { report: TargetReport })[];
}

export interface NewScanRun {
  kind: 'scan' | 'posture';
  trigger: string;
  node: string;
  startedAt: string;
  finishedAt: string;
  score?: number | null;
  summary: Record<string, unknown>;
  results: { report: TargetReport; failures: Failure[] }[];
}

/** The failed checks of a target report: what history compares. */
export function failuresOf(report: TargetReport): Failure[] {
  return report.results.filter((r) => r.status === 'fail').map((r) => ({ id: r.id, severity: r.severity, title: r.title }));
}

type ResultRecord = { run_id: number; target: string; started_at: string; reachable: number; failures: string };
const toRow = (r: ResultRecord): ScanResultRow => ({ runId: Number(r.run_id), target: r.target, startedAt: r.started_at, reachable: r.reachable === 1, failures: JSON.parse(r.failures) as Failure[] });

export class ScanRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async addRun(run: NewScanRun): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .insertInto('scan_runs')
        .values({ kind: run.kind, trigger: run.trigger, node: run.node, started_at: run.startedAt, finished_at: run.finishedAt, score: run.score ?? null, summary: JSON.stringify(run.summary) })
        .returning('id')
        .executeTakeFirstOrThrow();
      const id = Number(row.id);
      for (const r of run.results) {
        await tx
          .insertInto('scan_results')
          .values({ run_id: id, target: r.report.target.url, started_at: r.report.startedAt, reachable: r.report.reachable ? 1 : 0, failures: JSON.stringify(r.failures), report: JSON.stringify(r.report) })
          .execute();
      }
      return id;
    });
  }

  /**
   * A run that starts now and is stored at once, so that it has its id while it runs (the REST
   * API answers with it): `finished_at` stays empty and `summary.status` is `running` until
   * `finishRun`. Its results appear in history only when it finishes.
   */
  async beginRun(run: Omit<NewScanRun, 'finishedAt' | 'results'>): Promise<number> {
    const row = await this.db
      .insertInto('scan_runs')
      .values({ kind: run.kind, trigger: run.trigger, node: run.node, started_at: run.startedAt, finished_at: '', score: run.score ?? null, summary: JSON.stringify(run.summary) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Completes a run of `beginRun`: its end, summary and results in one transaction. */
  async finishRun(id: number, run: Pick<NewScanRun, 'finishedAt' | 'summary' | 'results'>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('scan_runs').set({ finished_at: run.finishedAt, summary: JSON.stringify(run.summary) }).where('id', '=', id).execute();
      for (const r of run.results) {
        await tx
          .insertInto('scan_results')
          .values({ run_id: id, target: r.report.target.url, started_at: r.report.startedAt, reachable: r.report.reachable ? 1 : 0, failures: JSON.stringify(r.failures), report: JSON.stringify(r.report) })
          .execute();
      }
    });
  }

  /** The newest stored result of a target (of any kind of run), before `beforeRun` if given. */
  async lastResult(target: string, beforeRun?: number): Promise<ScanResultRow | null> {
    let q = this.db.selectFrom('scan_results').select(['run_id', 'target', 'started_at', 'reachable', 'failures']).where('target', '=', target);
    if (beforeRun !== undefined) q = q.where('run_id', '<', beforeRun);
    const r = await q.orderBy('run_id', 'desc').limit(1).executeTakeFirst();
    return r ? toRow(r) : null;
  }

  /**
   * Results newest first (run id descending, then target), of one target or all; `after` is the
   * last row of the previous page (keyset pagination).
   */
  async history(target?: string, limit = 50, after?: { runId: number; target: string }): Promise<(ScanResultRow & { kind: string; trigger: string; node: string })[]> {
    let q = this.db
      .selectFrom('scan_results')
      .innerJoin('scan_runs', 'scan_runs.id', 'scan_results.run_id')
      .select(['scan_results.run_id', 'scan_results.target', 'scan_results.started_at', 'scan_results.reachable', 'scan_results.failures', 'scan_runs.kind', 'scan_runs.trigger', 'scan_runs.node']);
    if (target !== undefined) q = q.where('scan_results.target', '=', target);
    if (after !== undefined) q = q.where((eb) => eb.or([eb('scan_results.run_id', '<', after.runId), eb.and([eb('scan_results.run_id', '=', after.runId), eb('scan_results.target', '>', after.target)])]));
    const rows = await q.orderBy('scan_results.run_id', 'desc').orderBy('scan_results.target').limit(limit).execute();
    return rows.map((r) => ({ ...toRow(r), kind: r.kind, trigger: r.trigger, node: r.node }));
  }

  /** The newest result of every target ever scanned by runs of this kind. */
  async latestPerTarget(kind: 'scan' | 'posture' = 'scan'): Promise<ScanResultRow[]> {
    const rows = await this.db
      .selectFrom('scan_results as r')
      .select(['r.run_id', 'r.target', 'r.started_at', 'r.reachable', 'r.failures'])
      .where('r.run_id', '=', (eb) =>
        eb
          .selectFrom('scan_results as s')
          .innerJoin('scan_runs as k', 'k.id', 's.run_id')
          .select((e) => e.fn.max('s.run_id').as('m'))
          .whereRef('s.target', '=', 'r.target')
          .where('k.kind', '=', kind),
      )
      .orderBy('r.target')
      .execute();
    return rows.map(toRow);
  }

  async run(id: number): Promise<ScanRun | null> {
    const run = await this.db.selectFrom('scan_runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!run) return null;
    const results = await this.db.selectFrom('scan_results').selectAll().where('run_id', '=', id).orderBy('target').execute();
    return {
      id: Number(run.id),
      kind: run.kind,
      trigger: run.trigger,
      node: run.node,
      startedAt: run.started_at,
      finishedAt: run.finished_at,
      score: run.score === null ? null : Number(run.score),
      summary: JSON.parse(run.summary) as Record<string, unknown>,
      results: results.map((r) => ({ ...toRow(r), report: JSON.parse(r.report) as TargetReport })),
    };
  }

  /** The newest posture run's score and summary (null: none stored yet). */
  async lastPosture(): Promise<{ runId: number; score: number; summary: Record<string, unknown> } | null> {
    const r = await this.db.selectFrom('scan_runs').select(['id', 'score', 'summary']).where('kind', '=', 'posture').where('score', 'is not', null).orderBy('id', 'desc').limit(1).executeTakeFirst();
    return r ? { runId: Number(r.id), score: Number(r.score), summary: JSON.parse(r.summary) as Record<string, unknown> } : null;
  }

  /**
   * Takes (or renews) the named lease for `holder` until `until`; true when held. Atomic on both
   * dialects: the insert loses to an existing row, whose update only applies when it has expired
   * or is the holder's own.
   */
  async acquireLease(name: string, holder: string, now: Date, until: Date): Promise<boolean> {
    await this.db
      .insertInto('scan_leases')
      .values({ name, holder, expires_at: until.toISOString() })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder, expires_at: until.toISOString() })
          .where((eb) => eb.or([eb('scan_leases.expires_at', '<', now.toISOString()), eb('scan_leases.holder', '=', holder)])),
      )
      .execute();
    const row = await this.db.selectFrom('scan_leases').select('holder').where('name', '=', name).executeTakeFirst();
    return row?.holder === holder;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('scan_leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  /** For tests and `doctor`: rows in a table. */
  async count(): Promise<number> {
    const r = await sql<{ n: number }>`select count(*) as n from scan_runs`.execute(this.db);
    return Number(r.rows[0]?.n ?? 0);
  }
}
