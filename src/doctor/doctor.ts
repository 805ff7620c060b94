// `portcullis doctor`: runs every check of checks.ts and builds one report. Used by the CLI
// (which opens the store read-only, without migrating) and by the server's daily run (which
// passes its own store). Exit codes: 0 ok, 1 a warning, 2 a problem (docs/doctor.md).
import { statfs } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { BUNDLED_LIFECYCLE, loadLifecycle, type Lifecycle } from '../posture/lifecycle.ts';
import { inspectStore, type StoreState } from '../store/inspect.ts';
import { storeOptionsFrom } from '../store/store.ts';
import { doctorChecks, severityOrder, type DoctorContext, type FsStats } from './checks.ts';
import { readInstalledTree } from './lockfile.ts';
import { BUNDLED_OSV, loadOsv, type AdvisorySet } from './osv.ts';
import { DOCTOR_AREAS, DOCTOR_SEVERITIES, findingKey, type DoctorFinding, type DoctorReport, type DoctorSeverity } from './types.ts';

export const DOCTOR_VERSION = '1';

export interface DoctorOptions {
  config: Config;
  configFile: string | null;
  lifecycle?: Lifecycle;
  advisories?: AdvisorySet;
  now?: () => Date;
  node?: string;
  /** The store's state; default: opened read-only from the configuration. */
  store?: () => Promise<StoreState>;
  statfs?: (dir: string) => Promise<FsStats>;
  clockReference?: (url: string) => Promise<{ date: Date; rttMs: number }>;
  /** Folder with node_modules (tests). */
  installRoot?: string;
}

/** Data files: the command line's, else the configuration's, else the bundled ones. */
export function loadDoctorData(config: Config, o: { lifecycle?: string | undefined; advisories?: string | undefined } = {}): { lifecycle: Lifecycle; advisories: AdvisorySet } {
  return {
    lifecycle: loadLifecycle(o.lifecycle ?? config.doctor.lifecycleFile ?? BUNDLED_LIFECYCLE),
    advisories: loadOsv(o.advisories ?? config.doctor.advisoriesFile ?? BUNDLED_OSV),
  };
}

/** GET (HEAD is not always answered) of `url` for its Date header; the body is not read. */
export function httpDate(url: string, timeoutMs = LIMITS.doctor.clockTimeoutMs): Promise<{ date: Date; rttMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { timeout: timeoutMs, headers: { 'user-agent': 'portcullis-doctor' } }, (res) => {
      const rttMs = performance.now() - started;
      res.destroy();
      const date = res.headers.date ? new Date(res.headers.date) : null;
      if (!date || Number.isNaN(date.getTime())) reject(new Error(`HTTP ${res.statusCode} without a Date header`));
      else resolve({ date, rttMs });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export function exitCodeOf(findings: DoctorFinding[]): 0 | 1 | 2 {
  if (findings.some((f) => f.severity === 'problem')) return 2;
  if (findings.some((f) => f.severity === 'warning')) return 1;
  return 0;
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const { config } = o;
  const data = o.lifecycle && o.advisories ? { lifecycle: o.lifecycle, advisories: o.advisories } : loadDoctorData(config);
  const lifecycle = o.lifecycle ?? data.lifecycle;
  const advisories = o.advisories ?? data.advisories;
  const now = (o.now ?? (() => new Date()))();
  let storeState: Promise<StoreState> | undefined;
  const ctx: DoctorContext = {
    config,
    now,
    node: o.node ?? process.versions.node,
    lifecycle,
    advisories,
    tree: () => readInstalledTree(o.installRoot),
    store: () => (storeState ??= (o.store ?? (() => inspectStore(storeOptionsFrom(config))))()),
    statfs: o.statfs ?? ((dir) => statfs(dir)),
    clockReference: o.clockReference ?? ((url) => httpDate(url)),
  };
  const findings: DoctorFinding[] = [];
  for (const check of doctorChecks(o.configFile)) {
    try {
      findings.push(...(await check.run(ctx)));
    } catch (err) {
      findings.push({ id: check.id, area: check.area, severity: 'warning', subject: 'check failed', summary: `${check.title}: the check itself failed: ${(err as Error).message}`, evidence: [], fix: 'Report this as a bug with the message above; meanwhile check this item by hand.' });
    }
  }
  findings.sort((a, b) => DOCTOR_AREAS.indexOf(a.area) - DOCTOR_AREAS.indexOf(b.area) || severityOrder(b.severity) - severityOrder(a.severity));
  const counts = Object.fromEntries(DOCTOR_SEVERITIES.map((s) => [s, 0])) as Record<DoctorSeverity, number>;
  for (const f of findings) counts[f.severity]++;
  const exitCode = exitCodeOf(findings);
  return {
    schemaVersion: 1,
    tool: { name: 'portcullis-doctor', version: DOCTOR_VERSION },
    generatedAt: now.toISOString(),
    host: os.hostname(),
    node: `v${ctx.node.replace(/^v/, '')}`,
    status: exitCode === 2 ? 'problem' : exitCode === 1 ? 'warning' : 'ok',
    exitCode,
    data: { lifecycle: { file: lifecycle.file, date: lifecycle.date }, advisories: { file: advisories.file, date: advisories.date, records: advisories.records } },
    counts,
    findings,
  };
}

export interface DoctorChange {
  /** Warnings and problems that were not there (or were milder) in the previous run. */
  added: DoctorFinding[];
  /** Warnings and problems of the previous run that are gone (or milder) now. */
  resolved: DoctorFinding[];
}

/** What changed between two runs, counting only lines that change the exit code. */
export function diffDoctor(previous: DoctorReport | null, current: DoctorReport): DoctorChange {
  const counts = (f: DoctorFinding) => f.severity === 'warning' || f.severity === 'problem';
  const before = new Map((previous?.findings ?? []).filter(counts).map((f) => [findingKey(f), f]));
  const after = new Map(current.findings.filter(counts).map((f) => [findingKey(f), f]));
  return {
    added: [...after.values()].filter((f) => severityOrder(f.severity) > severityOrder(before.get(findingKey(f))?.severity ?? 'ok')),
    resolved: [...before.values()].filter((f) => severityOrder(after.get(findingKey(f))?.severity ?? 'ok') < severityOrder(f.severity)),
  };
}
