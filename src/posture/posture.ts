// `portcullis posture`: asks the running server for its effective configuration (control
// socket), scans its own listeners with the scanner (passive and active-safe probes only, from
// loopback, trusting the server's own certificate), judges the configuration and the runtime,
// and scores each of the six layers. Score per layer: 100 minus 10 per low, 25 per medium, 50
// per high and 100 per critical finding (floor 0); `info` findings cost nothing, so a layer
// has full marks exactly when nothing above info is left to fix.
import net from 'node:net';
import { BUNDLED_ADVISORIES, loadAdvisories } from '../scanner/advisories.ts';
import { scanAll, SCANNER_VERSION } from '../scanner/scan.ts';
import { parseTarget } from '../scanner/target.ts';
import { LAYERS, SEVERITIES, severityRank, type CheckStatus, type Layer, type ScanReport, type Severity } from '../scanner/types.ts';
import { POSTURE_CHECKS, type PostureInput } from './checks.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { PostureSnapshot } from './snapshot.ts';

export const PENALTY: Record<Severity, number> = { info: 0, low: 10, medium: 25, high: 50, critical: 100 };

export interface PostureResult {
  id: string;
  title: string;
  layer: Layer;
  severity: Severity;
  status: CheckStatus;
  evidence: string[];
  fix: string;
  /** `configuration`: judged from the snapshot; `scan`: a probe of one of the listeners. */
  source: 'configuration' | 'scan';
  /** The listener a scan result is about. */
  target?: string;
  reason?: string;
  /** Set when the configuration settles what a black-box probe could only suspect. */
  settledBy?: string;
}

export interface LayerScore {
  layer: Layer;
  score: number;
  findings: Record<Severity, number>;
  /** Checks that could not run (they cost no points, and are listed). */
  notChecked: number;
}

export interface PostureReport {
  schemaVersion: 1;
  tool: { name: 'portcullis-posture'; version: string };
  generatedAt: string;
  server: PostureSnapshot['server'];
  listeners: { name: string; url: string }[];
  lifecycle: { file: string; date: string };
  layers: LayerScore[];
  /** The lowest layer score: a chain is as strong as its weakest link. */
  overall: number;
  results: PostureResult[];
  scan: ScanReport;
  /** Set once the run is stored (posture history): its run id, the previous run's score, and
   * the last scheduled scan of each target (docs/scanner.md "Scheduled scans"). */
  history?: PostureHistory;
}

export interface PostureHistory {
  runId: number;
  previous: { runId: number; score: number } | null;
  lastScans: { target: string; runId: number; at: string; reachable: boolean; findings: Record<Severity, number> }[];
}

/** Where to reach a listener from this host: a wildcard bind is reached over loopback. */
export function listenerUrl(l: { scheme: 'ftp' | 'ftps' | 'sftp'; address: string; port: number }): string {
  const host = l.address === '0.0.0.0' ? '127.0.0.1' : l.address === '::' ? '::1' : l.address;
  return `${l.scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${l.port}`;
}

/** Judges the snapshot against the configuration checks. */
export function evaluateConfiguration(input: PostureInput): PostureResult[] {
  return POSTURE_CHECKS.map((check) => {
    const v = check.evaluate(input);
    return {
      id: check.id,
      title: check.title,
      layer: check.layer,
      severity: v.status === 'fail' ? (v.severity ?? check.severity) : check.severity,
      status: v.status,
      evidence: v.evidence,
      fix: v.status === 'fail' ? (v.fix ?? check.fix) : check.fix,
      source: 'configuration',
    };
  });
}

/**
 * The scan's verdicts on our own listeners, with what only the configuration can settle: a
 * black-box probe sees `password` and `keyboard-interactive` offered and cannot tell a first
 * factor from a single one; the effective configuration can.
 */
export function scanResults(scan: ScanReport, snapshot: PostureSnapshot): PostureResult[] {
  const everyoneNeedsMfa = snapshot.config.mfa.required && snapshot.users.withoutMfa === 0;
  const out: PostureResult[] = [];
  for (const t of scan.targets) {
    for (const r of t.results) {
      const base: PostureResult = {
        id: r.id,
        title: r.title,
        layer: r.layer,
        severity: r.severity,
        status: r.status,
        evidence: r.evidence,
        fix: r.fix,
        source: 'scan',
        target: t.target.url,
        ...(r.reason !== undefined && { reason: r.reason }),
      };
      if (r.id === 'ssh.password-auth' && r.status === 'fail' && everyoneNeedsMfa) {
        out.push({
          ...base,
          status: 'pass',
          evidence: [...r.evidence, 'the effective configuration requires a second factor from every user (mfa.required: true, nobody exempt): a password or key alone only ever yields partial success'],
          settledBy: 'mfa.required',
        });
        continue;
      }
      out.push(base);
    }
  }
  return out;
}

export function scoreLayers(results: PostureResult[]): LayerScore[] {
  return LAYERS.map((layer) => {
    const findings = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    let notChecked = 0;
    let penalty = 0;
    for (const r of results) {
      if (r.layer !== layer) continue;
      if (r.status === 'error') notChecked++;
      if (r.status !== 'fail') continue;
      findings[r.severity]++;
      penalty += PENALTY[r.severity];
    }
    return { layer, score: Math.max(0, 100 - penalty), findings, notChecked };
  });
}

export interface PostureOptions {
  lifecycle: Lifecycle;
  timeoutMs: number;
  targetTimeoutMs: number;
  now?: () => Date;
  /** Asks the server to stop scoring loopback for this long (0 ends it). */
  selfScan(seconds: number): Promise<void>;
}

export async function runPosture(snapshot: PostureSnapshot, o: PostureOptions): Promise<PostureReport> {
  const listeners = snapshot.listeners.map((l) => ({ name: l.name, url: listenerUrl(l) }));
  const targets = listeners.map((l) => parseTarget(l.url));
  const scanOptions = {
    allow: new Set<never>(),
    ca: [snapshot.certificate.pem],
    timeoutMs: o.timeoutMs,
    targetTimeoutMs: o.targetTimeoutMs,
    concurrency: Math.max(1, targets.length),
    advisories: loadAdvisories(BUNDLED_ADVISORIES),
  };
  await o.selfScan(Math.ceil(o.targetTimeoutMs / 1000) + 5);
  let scan: ScanReport;
  try {
    scan = await scanAll(targets, scanOptions);
  } finally {
    await o.selfScan(0);
  }
  const now = (o.now ?? (() => new Date()))();
  const results = [...evaluateConfiguration({ snapshot, lifecycle: o.lifecycle, now }), ...scanResults(scan, snapshot)];
  results.sort((a, b) => LAYERS.indexOf(a.layer) - LAYERS.indexOf(b.layer) || severityRank(b.severity) - severityRank(a.severity));
  const layers = scoreLayers(results);
  return {
    schemaVersion: 1,
    tool: { name: 'portcullis-posture', version: SCANNER_VERSION },
    generatedAt: now.toISOString(),
    server: snapshot.server,
    listeners,
    lifecycle: { file: o.lifecycle.file, date: o.lifecycle.date },
    layers,
    overall: Math.min(...layers.map((l) => l.score)),
    results,
    scan,
  };
}
