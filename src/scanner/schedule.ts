// Scheduled scans (issue 18): on scans.schedule (cron, UTC) the server scans its own listeners
// (over loopback, trusting its own certificate, the defender told to leave loopback alone for the
// scan as `posture` does) and the configured targets, stores every report, compares each target
// with its previous result, and audits what matters: `scan.findings.new` for new findings at or
// above scans.alertSeverity, `scan.certificate.expiring` for a certificate that ends within
// scans.certificateDays; the alert rules send both. In a cluster exactly one node runs a given
// schedule slot: the one that takes the store lease `scans`, and keeps it until just before the
// next slot.
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

interface PlannedTarget {
  url: string;
  own: boolean;
  options: Omit<ScanOptions, 'advisories' | 'concurrency'>;
}

export class ScanSchedule {
  private job: Cron | null = null;
  private running: Promise<ScheduledRun | null> | null = null;
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

  private plan(): PlannedTarget[] {
    const { config } = this.deps;
    const env = this.deps.env ?? process.env;
    const s = config.scans;
    const base = { timeoutMs: s.timeoutSeconds * 1000, targetTimeoutMs: s.targetTimeoutSeconds * 1000 };
    const out: PlannedTarget[] = [];
    if (s.ownListeners) {
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

  /** One run now (the schedule calls this too). Null when another node holds the lease. */
  runOnce(trigger = 'schedule'): Promise<ScheduledRun | null> {
    this.running ??= this.run(trigger).finally(() => (this.running = null));
    return this.running;
  }

  private async run(trigger: string): Promise<ScheduledRun | null> {
    const { config, scans, audit, logger } = this.deps;
    const now = this.deps.now ?? (() => new Date());
    const planned = this.plan();
    const budget = planned.reduce((t, p) => t + p.options.targetTimeoutMs, 0) + 60_000;
    const start = now();
    if (!(await scans.acquireLease(SCAN_LEASE, this.holder, start, new Date(start.getTime() + budget)))) {
      logger.info('scheduled scan skipped: another node holds the lease');
      audit.emit({ type: 'scan.run.skipped', reason: 'another node holds the scans lease' });
      return null;
    }
    try {
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
      const run: NewScanRun = {
        kind: 'scan',
        trigger,
        node: os.hostname(),
        startedAt: start.toISOString(),
        finishedAt: now().toISOString(),
        summary: { targets: reports.length, new: diffs.reduce((n, d) => n + d.new.length, 0), resolved: diffs.reduce((n, d) => n + d.resolved.length, 0), unchanged: diffs.reduce((n, d) => n + d.unchanged.length, 0) },
        results: reports.map((report) => ({ report, failures: failuresOf(report) })),
      };
      const runId = await scans.addRun(run);
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
      logger.info({ runId, targets: reports.length, ...run.summary }, 'scheduled scan stored');
      return { runId, reports, diffs };
    } finally {
      await this.afterRun(trigger).catch(() => undefined);
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
    await this.running?.catch(() => undefined);
  }
}
