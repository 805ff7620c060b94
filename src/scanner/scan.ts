// Scan engine: one TargetScan per target, bounded concurrency, per-target deadline.
import { CATALOGUE } from './catalogue.ts';
import { TargetScan, type ScanOptions } from './context.ts';
import { errorMessage } from './errors.ts';
import { scanFtp } from './ftp-probes.ts';
import { runIsolated } from './isolation.ts';
import { scanSsh } from './ssh-probes.ts';
import { scanTls } from './tls-probes.ts';
import { SEVERITIES, type CheckStatus, type ScanReport, type Scheme, type Severity, type Target, type TargetReport } from './types.ts';

export const SCANNER_VERSION = '0.1.0';

export type Prober = (s: TargetScan) => Promise<void>;

/** FTP and FTPS: the FTP probes, then the TLS probes when the endpoint answered. */
const scanFtpAndTls: Prober = async (s) => {
  await scanFtp(s);
  if (s.reachable) await scanTls(s);
};

/** The probes run for each kind of target. */
export const PROBERS: Record<Scheme, Prober> = { sftp: scanSsh, ftp: scanFtpAndTls, ftps: scanFtpAndTls };

export async function scanTarget(
  target: Target,
  options: ScanOptions,
  probers: Record<Scheme, Prober> = PROBERS,
  onDecided?: (decided: number) => void,
): Promise<TargetReport> {
  const startedAt = new Date();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), options.targetTimeoutMs);
  const s = new TargetScan(target, options, ac.signal, onDecided);
  let failure: string | undefined;
  const fail = (err: unknown): void => {
    failure ??= `scanner error: ${errorMessage(err)}`;
    if (!ac.signal.aborted) ac.abort(); // the checks still open end as errors; other targets go on
  };
  const work = runIsolated(fail, () => probers[target.scheme](s)).catch(fail);
  // The deadline wins over slow probes: whatever is undecided then is reported as timed out.
  const deadline = new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([work, deadline]);
  clearTimeout(timer);
  if (!ac.signal.aborted) ac.abort(); // nothing may open a new connection after this point
  return s.finalize(startedAt, failure);
}

/** Checks decided so far for one running target, out of those that apply to its scheme. */
export interface CheckProgress {
  url: string;
  decided: number;
  total: number;
}

export interface ProgressEvent {
  done: number;
  total: number;
  /** The targets being scanned now, with their checks decided so far. */
  current: CheckProgress[];
  /** Set when a target has just finished. */
  finished?: TargetReport;
}

export async function scanAll(
  targets: Target[],
  options: ScanOptions,
  onProgress?: (e: ProgressEvent) => void,
  probers: Record<Scheme, Prober> = PROBERS,
): Promise<ScanReport> {
  const reports: TargetReport[] = new Array<TargetReport>(targets.length);
  let next = 0;
  let done = 0;
  const running = new Map<string, CheckProgress>();
  const emit = (finished?: TargetReport): void =>
    onProgress?.({ done, total: targets.length, current: [...running.values()].map((c) => ({ ...c })), ...(finished ? { finished } : {}) });
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const i = next++;
      const t = targets[i]!;
      const progress: CheckProgress = { url: t.url, decided: 0, total: checksFor(t.scheme) };
      running.set(t.url, progress);
      emit();
      reports[i] = await scanTarget(t, options, probers, (decided) => {
        progress.decided = Math.min(decided, progress.total);
        emit();
      });
      running.delete(t.url);
      done++;
      emit(reports[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, targets.length) }, worker));
  return buildReport(reports, options);
}

function checksFor(scheme: Scheme): number {
  return CATALOGUE.filter((c) => c.protocols.includes(scheme)).length;
}

export function buildReport(targets: TargetReport[], options: ScanOptions): ScanReport {
  const findings = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const statuses: Record<CheckStatus, number> = { fail: 0, pass: 0, 'not-applicable': 0, error: 0 };
  for (const t of targets) {
    for (const r of t.results) {
      statuses[r.status]++;
      if (r.status === 'fail') findings[r.severity]++;
    }
  }
  return {
    schemaVersion: 1,
    tool: { name: 'portcullis-scan', version: SCANNER_VERSION },
    generatedAt: new Date().toISOString(),
    options: {
      allow: [...options.allow].sort(),
      credentials: options.user !== undefined,
      advisoriesFile: options.advisories.file,
      advisoriesDate: options.advisories.date,
    },
    targets,
    summary: { targets: targets.length, findings, statuses },
  };
}
