// Shared vocabulary of the scanner: severities, modes, layers, check results, reports.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const MODES = ['passive', 'active-safe', 'needs-credentials', 'writes', 'intrusive'] as const;
export type Mode = (typeof MODES)[number];

/** The six mitigation layers; every finding maps to exactly one. */
export const LAYERS = [
  'secure-protocol',
  'encryption',
  'mfa',
  'access-restriction',
  'monitoring',
  'patching',
] as const;
export type Layer = (typeof LAYERS)[number];

export type Scheme = 'ftp' | 'ftps' | 'sftp';

export type CheckStatus = 'fail' | 'pass' | 'not-applicable' | 'error';

/** Machine-readable reason attached to `error` (and some `not-applicable`) statuses. */
export type ReasonCode =
  | 'not-implemented'
  | 'mode-not-allowed'
  | 'needs-credentials'
  | 'unreachable'
  | 'timeout'
  | 'budget-exhausted'
  | 'probe-failed'
  | 'not-testable'
  | 'precondition'
  | 'protocol';

export interface Target {
  /** The URL as given on the command line, normalised (scheme://host:port). */
  url: string;
  scheme: Scheme;
  host: string;
  port: number;
}

export interface AdvisoryMatch {
  advisoryId: string;
  product: string;
  version: string;
  cves: string[];
  knownExploited: boolean;
  published: string;
  severity: Severity;
  summary: string;
  /** Banner-based: always potential; `confirm` says how to settle it. */
  potential: true;
  confirm: string;
  distroNote?: string;
}

/** One sub-probe of a check that bundles several (check 29 tls.known-vulns). */
export interface SubProbeResult {
  /** e.g. "Heartbleed", "CCS injection", "POODLE (SSLv3)". */
  name: string;
  cves: string[];
  /** fail = vulnerable; pass = probed, not vulnerable; not-applicable; error = could not be decided. */
  status: CheckStatus;
  /** What was sent and seen (never leaked bytes, only their count). */
  detail: string;
  /** On fail: the fix for this sub-probe, in plain words. */
  fix?: string;
}

export interface CheckResult {
  n: number;
  id: string;
  title: string;
  status: CheckStatus;
  /** Effective severity of this result (catalogue severity, or per-CVE / per-protocol escalation). */
  severity: Severity;
  layer: Layer;
  modes: Mode[];
  evidence: string[];
  /** Concrete fix in plain words (present on every result; most useful on `fail`), in the terms of
   * the identified product where the scanner knows them. */
  fix: string;
  /** The product `fix` is written for (absent: generic advice, the product is unknown). */
  fixFor?: string;
  /** The controls auditors ask about: PCI DSS v4.0.1, NIST SP 800-53 rev. 5, CIS Controls v8. */
  controls: { pci: string[]; nist: string[]; cis: string[] };
  reason?: string;
  reasonCode?: ReasonCode;
  /** True when the verdict rests on a banner/version inference rather than an observed behaviour. */
  potential?: boolean;
  advisories?: AdvisoryMatch[];
  /** tls.known-vulns only: one entry per sub-probe, in catalogue order. */
  subProbes?: SubProbeResult[];
}

export interface TargetReport {
  target: Target;
  startedAt: string;
  durationMs: number;
  reachable: boolean;
  banner?: string;
  /** The leaf certificate the server presented (TLS targets whose handshake succeeded). */
  certificate?: { subject: string; issuer: string; validFrom: string; validTo: string };
  /** Set when a probe failed in a way the scanner did not expect (a bug or an unhandled network
   * event): the checks it left open are errors, and the CLI exits 2 after writing the report. */
  scannerError?: string;
  /** Probe files or directories the scanner created (--allow writes) and could not delete: the
   * operator must remove them by hand. */
  leftovers?: string[];
  results: CheckResult[];
}

export interface ScanReport {
  schemaVersion: 1;
  tool: { name: 'portcullis-scan'; version: string };
  generatedAt: string;
  options: { allow: Mode[]; credentials: boolean; advisoriesFile: string; advisoriesDate: string };
  targets: TargetReport[];
  summary: {
    targets: number;
    findings: Record<Severity, number>;
    statuses: Record<CheckStatus, number>;
  };
}

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}
