// Scheduled scans (issue 18): on scans.schedule (cron, UTC) the server scans its own listeners
// (over loopback, trusting its own certificate, the defender told to leave loopback alone for the
// scan as `posture` does) and the configured targets, stores every report, compares each target
// with its previous result, and audits what matters: `scan.findings.new` for new findings at or
// above scans.alertSeverity, `scan.certificate.expiring` for a certificate that ends within
// scans.certificateDays; the alert rules send both. In a cluster exactly one node runs a given
// schedule slot: the one that takes the store lease `scans`, and keeps it until just before the
// next slot.
// A run can also be started by hand for one selection (the REST API: `POST /v1/scans`): the own
// listeners or one configured target, nothing else. Runs of one process never overlap.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/schema.ts';
import { listenerUrl } from '../posture/posture.ts';
import type { BoundListener } from '../protocols/adapter.ts';
import { failuresOf, type NewScanRun, type ScanRepository } from '../store/scan-repository.ts';
import { BUNDLED_ADVISORIES, loadAdvisories } from './advisories.ts';
import type { ScanOptions } from './context.ts';
import { diffFailures, worstOf, type TargetDiff } from './history.ts';
import { withRunSink } from './isolation.ts';
import { scanTarget } from './scan.ts';
import { ScanError } from './errors.ts';
import { parseTarget } from './target.ts';
import { severityRank, type Mode, type TargetReport } from './types.ts';

export const SCAN_LEASE = 'scans';
const DAY = 86_400_000;

export interface ScanScheduleDeps {
  config: Config;
  scans: ScanRepository;
  audit: Audit;
  logger: Logger;
  listeners: () => BoundListener[];
  /** The server's own certificate (PEM), trusted for its own listeners. */
  ownCertificate: () => string;
  /** Tell the defender to neither score nor rate-limit loopback for this long (0 ends it). */
  exemptLoopback: (ms: number) => void;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export interface ScheduledRun {
  runId: number;
  reports: TargetReport[];
  diffs: TargetDiff[];
}

export interface PlannedTarget {
  url: string;
  own: boolean;
  options: Omit<ScanOptions, 'advisories' | 'concurrency'>;
}

export class ScanSchedule {
  private job: Cron | null = null;
  /** The scheduled (or `runOnce`) run, waiting for or running. */
  private scheduled: Promise<ScheduledRun | null> | null = null;
  /** Any run of this process: they never overlap (one loopback exemption, one probe sink). */
  private current: Promise<ScheduledRun | null> | null = null;
  private currentId: number | null = null;
  private stopped = false;
  /** This process, as the lease holder. */
  readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(private readonly deps: ScanScheduleDeps) {}

  start(): void {
    const schedule = this.deps.config.scans.schedule;
    if (schedule === null) return;
    this.job = new Cron(schedule, { timezone: 'UTC', protect: true, unref: true, catch: (err) => this.deps.logger.warn({ err: (err as Error).message }, 'scheduled scan failed') }, async () => {
      await this.runOnce();
    });
  }

  nextRun(): Date | null {
    return this.job?.nextRun() ?? null;
  }

  /** The scheduled plan: the own listeners (scans.ownListeners) and the configured targets. */
  private plan(withOwn = this.deps.config.scans.ownListeners): PlannedTarget[] {
    const { config } = this.deps;
    const env = this.deps.env ?? process.env;
    const s = config.scans;
    const base = { timeoutMs: s.timeoutSeconds * 1000, targetTimeoutMs: s.targetTimeoutSeconds * 1000 };
    const out: PlannedTarget[] = [];
    if (withOwn) {
      const ca = [this.deps.ownCertificate()];
      // SECURITY: own listeners get passive and active-safe probes only: never a login, never a write.
      for (const l of this.deps.listeners()) out.push({ url: listenerUrl(l), own: true, options: { ...base, targetTimeoutMs: Math.min(base.targetTimeoutMs, 170_000), allow: new Set<Mode>(), ca } });
    }
    for (const t of s.targets) {
      const password = t.passwordEnv ? env[t.passwordEnv] : undefined;
      if (t.passwordEnv && password === undefined) this.deps.logger.warn({ target: t.url, env: t.passwordEnv }, 'scan target password variable is not set: checks that need credentials are skipped');
      out.push({
        url: t.url,
        own: false,
        options: {
          ...base,
          allow: new Set<Mode>(t.allow),
          ca: t.caFile ? [readFileSync(t.caFile, 'utf8')] : [],
          ...(t.user && (password !== undefined || t.keyFile) ? { user: t.user } : {}),
          ...(t.user && password !== undefined ? { password } : {}),
          ...(t.user && t.keyFile ? { keyFile: t.keyFile } : {}),
        },
      });
    }
    return out;
  }

  /**
   * The targets a hand-started run may scan: `own` (or nothing) for every listener of this server,
   * or a URL that is one of them or one of scans.targets. Anything else is refused before any
   * connection or name lookup.
   */
  select(target: string | undefined): PlannedTarget[] {
    const all = this.plan(true);
    if (target === undefined || target === 'own') {
      const own = all.filter((p) => p.own);
      if (own.length === 0) throw new ScanError('ERR_SCAN_TARGET_NOT_CONFIGURED', 'this server has no listener to scan');
      return own;
    }
    // SECURITY: only what the configuration names (or our own listeners) is scanned on request:
    // the comparison is of normalised URL text, so no host given over the API is ever resolved or
    // connected to (SSRF).
    const url = parseTarget(target).url;
    const chosen = all.filter((p) => parseTarget(p.url).url === url);
    if (chosen.length === 0) throw new ScanError('ERR_SCAN_TARGET_NOT_CONFIGURED', `${url} is neither a listener of this server nor in scans.targets`);
    return chosen.slice(0, 1);
  }

  /** The run in progress in this process, if any (its id once stored). */
  inProgress(): { runId: number | null } | null {
    return this.current || this.scheduled ? { runId: this.currentId } : null;
  }

  /** One run now (the schedule calls this too). Null when another node holds the lease. */
  runOnce(trigger = 'schedule'): Promise<ScheduledRun | null> {
    this.scheduled ??= this.exclusive(trigger, () => this.plan(), true).finally(() => (this.scheduled = null));
    return this.scheduled;
  }

  /**
   * Starts a run of `planned` (from `select`) now, without the cluster lease (a run by hand is
   * not a schedule slot). Refused while this process runs one. Resolves with the run's id as soon
   * as it is stored; `done` settles when the run does.
   */
  async startRun(trigger: string, planned: PlannedTarget[]): Promise<{ runId: number; done: Promise<ScheduledRun | null> }> {
    const busy = this.inProgress();
    if (this.stopped) throw new ScanError('ERR_SCAN_IN_PROGRESS', 'the server is stopping');
    if (busy) throw new ScanError('ERR_SCAN_IN_PROGRESS', busy.runId === null ? 'another run is starting' : `run ${busy.runId} is still running`);
    let began: (id: number) => void = () => undefined;
    const id = new Promise<number>((resolve) => (began = resolve));
    const done = this.exclusive(trigger, () => planned, false, began);
    done.catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'scan run failed'));
    const runId = await Promise.race([id, done.then(() => Promise.reject(new Error('the scan ended before it was stored')))]);
    return { runId, done };
  }

  /** Waits for the run in progress, then runs (runs of one process never overlap). */
  private async exclusive(trigger: string, planned: () => PlannedTarget[], lease: boolean, began?: (id: number) => void): Promise<ScheduledRun | null> {
    while (this.current) await this.current.catch(() => undefined);
    const run = this.run(trigger, planned(), lease, began);
    this.current = run;
    try {
      return await run;
    } finally {
      if (this.current === run) this.current = null;
    }
  }

  private async run(trigger: string, planned: PlannedTarget[], lease: boolean, began?: (id: number) => void): Promise<ScheduledRun | null> {
    const { config, scans, audit, logger } = this.deps;
    const now = this.deps.now ?? (() => new Date());
    const budget = planned.reduce((t, p) => t + p.options.targetTimeoutMs, 0) + 60_000;
    const start = now();
    if (lease && !(await scans.acquireLease(SCAN_LEASE, this.holder, start, new Date(start.getTime() + budget)))) {
      logger.info('scheduled scan skipped: another node holds the lease');
      audit.emit({ type: 'scan.run.skipped', reason: 'another node holds the scans lease' });
      return null;
    }
    let runId: number | null = null;
    try {
      runId = await scans.beginRun({
        kind: 'scan',
        trigger,
        node: os.hostname(),
        startedAt: start.toISOString(),
        // past the deadline a run that never finished (its node stopped) shows as interrupted
        summary: { status: 'running', deadline: new Date(start.getTime() + budget).toISOString(), targets: planned.map((p) => p.url) },
      });
      this.currentId = runId;
      began?.(runId);
      const advisories = loadAdvisories(BUNDLED_ADVISORIES);
      const reports: TargetReport[] = [];
      const own = planned.filter((p) => p.own);
      if (own.length > 0) {
        // Own listeners in parallel (as posture does), under one loopback exemption.
        this.deps.exemptLoopback(Math.max(...own.map((p) => p.options.targetTimeoutMs)) + 5000);
        try {
          reports.push(...(await withRunSink((err) => logger.warn({ err: String(err) }, 'scan probe error'), () => Promise.all(own.map((p) => scanTarget(parseTarget(p.url), { ...p.options, advisories, concurrency: 1 }))))));
        } finally {
          this.deps.exemptLoopback(0);
        }
      }
      for (const p of planned.filter((x) => !x.own)) {
        reports.push(await withRunSink((err) => logger.warn({ err: String(err) }, 'scan probe error'), () => scanTarget(parseTarget(p.url), { ...p.options, advisories, concurrency: 1 })));
      }
      const diffs: TargetDiff[] = [];
      for (const r of reports) {
        const prev = await scans.lastResult(r.target.url);
        diffs.push(diffFailures(r.target.url, prev?.failures ?? null, failuresOf(r), { before: prev?.runId ?? null, after: null }));
      }
      const run: Pick<NewScanRun, 'finishedAt' | 'summary' | 'results'> = {
        finishedAt: now().toISOString(),
        summary: { status: 'completed', targets: reports.length, new: diffs.reduce((n, d) => n + d.new.length, 0), resolved: diffs.reduce((n, d) => n + d.resolved.length, 0), unchanged: diffs.reduce((n, d) => n + d.unchanged.length, 0) },
        results: reports.map((report) => ({ report, failures: failuresOf(report) })),
      };
      await scans.finishRun(runId, run);
      for (const d of diffs) d.after = runId;
      audit.emit({ type: 'scan.run.completed', runId, kind: 'scan', targets: reports.length, newFindings: run.summary.new as number, resolvedFindings: run.summary.resolved as number });
      const threshold = severityRank(config.scans.alertSeverity);
      for (const d of diffs) {
        const alerting = d.new.filter((f) => severityRank(f.severity) >= threshold);
        if (alerting.length > 0) audit.emit({ type: 'scan.findings.new', runId, target: d.target, worst: worstOf(alerting)!, findings: alerting.map((f) => `${f.severity} ${f.id}: ${f.title}`) });
      }
      for (const r of reports) {
        if (!r.certificate) continue;
        const daysLeft = Math.floor((Date.parse(r.certificate.validTo) - now().getTime()) / DAY);
        if (daysLeft <= config.scans.certificateDays) audit.emit({ type: 'scan.certificate.expiring', runId, target: r.target.url, validTo: r.certificate.validTo, daysLeft, subject: r.certificate.subject });
      }
      logger.info({ runId, trigger, targets: reports.length, ...run.summary }, 'scan stored');
      return { runId, reports, diffs };
    } catch (err) {
      if (runId !== null) {
        const failed = runId;
        await scans.finishRun(failed, { finishedAt: now().toISOString(), summary: { status: 'failed', error: String((err as Error).message).slice(0, 300) }, results: [] }).catch(() => undefined);
      }
      throw err;
    } finally {
      this.currentId = null;
      if (lease) await this.afterRun(trigger).catch(() => undefined);
    }
  }

  /**
   * After a scheduled run the lease stays with this node until just before the next slot, so a
   * node whose timer fires late for the same slot finds it held and skips: one run per slot in a
   * cluster. Any other run (or a schedule with no next slot) gives it back at once.
   */
  private async afterRun(trigger: string): Promise<void> {
    const { scans } = this.deps;
    const now = (this.deps.now ?? (() => new Date()))();
    const next = trigger === 'schedule' ? this.nextRun() : null;
    const holdUntil = next ? new Date(next.getTime() - 60_000) : null;
    if (holdUntil && holdUntil > now) await scans.acquireLease(SCAN_LEASE, this.holder, now, holdUntil);
    else await scans.releaseLease(SCAN_LEASE, this.holder);
  }

  async stop(): Promise<void> {
    this.job?.stop();
    this.job = null;
    this.stopped = true;
    await this.scheduled?.catch(() => undefined);
    await this.current?.catch(() => undefined);
  }
}

