// The server's own doctor: run on doctor.schedule (cron, UTC), compared with this node's previous
// run (kept in DATADIR/doctor/last.json, 0600), audited every time (`doctor.run.completed`) and,
// when a warning or problem appears or goes, audited as `doctor.run.changed`, which the alert
// rule `doctor-change` sends through the configured channels. Every node runs its own: the
// runtime, the disk and the clock are per host.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/schema.ts';
import { migrationState, storeWhere, type StoreState } from '../store/inspect.ts';
import { storeOptionsFrom, type Store } from '../store/store.ts';
import { diffDoctor, loadDoctorData, runDoctor, type DoctorOptions } from './doctor.ts';
import type { DoctorReport } from './types.ts';

export interface DoctorScheduleDeps {
  config: Config;
  configFile: string | null;
  store: Store;
  audit: Audit;
  logger: Logger;
  /** Overrides for tests (statfs, clock reference, now). */
  overrides?: Partial<DoctorOptions>;
}

export function lastReportFile(dataDir: string): string {
  return path.join(dataDir, 'doctor', 'last.json');
}

export class DoctorSchedule {
  private job: Cron | null = null;
  private running: Promise<DoctorReport> | null = null;

  constructor(private readonly deps: DoctorScheduleDeps) {}

  start(): void {
    const schedule = this.deps.config.doctor.schedule;
    if (schedule === null) return;
    this.job = new Cron(schedule, { timezone: 'UTC', protect: true, unref: true, catch: (err) => this.deps.logger.warn({ err: (err as Error).message }, 'scheduled doctor run failed') }, async () => {
      await this.runOnce();
    });
  }

  /** When the next scheduled run is due (null: not scheduled). */
  nextRun(): Date | null {
    return this.job?.nextRun() ?? null;
  }

  private async storeState(): Promise<StoreState> {
    const { store, config } = this.deps;
    const where = storeWhere(storeOptionsFrom(config));
    try {
      return { where, reachable: true, ...(await migrationState(store.db as never, store.dialect)) };
    } catch (err) {
      return { where, reachable: false, error: (err as Error).message, applied: [], pending: [], unknown: [], homes: [] };
    }
  }

  private previous(): DoctorReport | null {
    try {
      return JSON.parse(readFileSync(lastReportFile(this.deps.config.dataDir), 'utf8')) as DoctorReport;
    } catch {
      return null;
    }
  }

  /** One run now (also what the schedule calls); runs never overlap. */
  runOnce(): Promise<DoctorReport> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<DoctorReport> {
    const { config, audit, logger } = this.deps;
    const data = loadDoctorData(config);
    const report = await runDoctor({ config, configFile: this.deps.configFile, ...data, store: () => this.storeState(), ...this.deps.overrides });
    const change = diffDoctor(this.previous(), report);
    const file = lastReportFile(config.dataDir);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, JSON.stringify(report), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    audit.emit({ type: 'doctor.run.completed', status: report.status, problems: report.counts.problem, warnings: report.counts.warning });
    if (change.added.length > 0 || change.resolved.length > 0) {
      const line = (f: { severity: string; id: string; summary: string }) => `${f.severity} ${f.id}: ${f.summary}`.slice(0, 300);
      audit.emit({ type: 'doctor.run.changed', status: report.status, added: change.added.slice(0, 20).map(line), resolved: change.resolved.slice(0, 20).map(line), worst: change.added.some((f) => f.severity === 'problem') ? 'problem' : change.added.length ? 'warning' : 'ok' });
    }
    logger.info({ status: report.status, problems: report.counts.problem, warnings: report.counts.warning, added: change.added.length, resolved: change.resolved.length }, 'doctor run');
    return report;
  }

  /** Stops the schedule and waits for a run in progress (it writes to the audit trail). */
  async stop(): Promise<void> {
    this.job?.stop();
    this.job = null;
    await this.running?.catch(() => undefined);
  }
}
