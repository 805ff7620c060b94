import { CATALOGUE, gatingMode, getCheck } from './catalogue.ts';
import type { ProductInfo } from './banner.ts';
import { ScanError } from './errors.ts';
import { fixFor } from './product-fixes.ts';
import { LIMITS } from './limits.ts';
import type { AdvisoryDb } from './advisories.ts';
import type { AdvisoryMatch, CheckResult, Mode, ReasonCode, Severity, SubProbeResult, Target, TargetReport } from './types.ts';

export interface ScanOptions {
  allow: ReadonlySet<Mode>;
  user?: string;
  password?: string;
  keyFile?: string;
  /** Extra trusted CA certificates (PEM), from --ca. */
  ca: string[];
  timeoutMs: number;
  targetTimeoutMs: number;
  concurrency: number;
  advisories: AdvisoryDb;
}

export interface ResultExtra {
  severity?: Severity;
  potential?: boolean;
  advisories?: AdvisoryMatch[];
  subProbes?: SubProbeResult[];
}

/**
 * One clean line of evidence: server text and library errors arrive with CR/LF, tabs, control
 * characters and stack-like continuations. Whitespace runs become one space, other control
 * characters are shown as \xNN, and the line is cut at LIMITS.maxEvidenceChars.
 */
export function cleanEvidence(text: string): string {
  const one = text
    .replace(/\s*[\r\n]+\s*/g, ' | ')
    .replace(/[\t\v\f]+/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/ {2,}/g, ' ')
    .trim();
  return one.length > LIMITS.maxEvidenceChars ? `${one.slice(0, LIMITS.maxEvidenceChars - 1)}…` : one;
}

/** Bounds connections to one target: a few at a time, a fixed number in total, within the deadline. */
export class ConnectionBudget {
  private open = 0;
  private total = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(
    private readonly signal: AbortSignal,
    private readonly maxParallel: number = LIMITS.maxParallelConnectionsPerTarget,
    private readonly maxTotal: number = LIMITS.maxConnectionsPerTarget,
  ) {}

  async acquire(): Promise<() => void> {
    while (this.open >= this.maxParallel) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.signal.aborted) throw new ScanError('ERR_SCAN_BUDGET', 'target time limit reached');
    if (this.total >= this.maxTotal) {
      throw new ScanError('ERR_SCAN_BUDGET', `connection budget of ${this.maxTotal} per target exhausted`);
    }
    this.open++;
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      this.waiters.shift()?.();
    };
  }

  get used(): number {
    return this.total;
  }
}

/** Collects one result per catalogue check for one target. */
export class TargetScan {
  readonly results = new Map<string, CheckResult>();
  readonly budget: ConnectionBudget;
  readonly signal: AbortSignal;
  banner?: string;
  /** The server certificate's facts, once a TLS handshake showed it (scheduled scans alert on expiry). */
  certificate?: TargetReport['certificate'];
  reachable = false;
  /** Check ids the probes for this target's protocol implement (others finalise as "not implemented yet"). */
  readonly implemented = new Set<string>();
  /** Set by the FTP probes: does the endpoint speak TLS (implicitly or after AUTH TLS)? */
  tlsAvailable = false;

  constructor(
    readonly target: Target,
    readonly options: ScanOptions,
    signal: AbortSignal,
    private readonly onDecided?: (decided: number) => void,
  ) {
    this.signal = signal;
    this.budget = new ConnectionBudget(signal);
  }

  allowed(mode: Mode): boolean {
    return mode === 'passive' || mode === 'active-safe' || this.options.allow.has(mode);
  }

  get hasCredentials(): boolean {
    return this.options.user !== undefined && this.options.password !== undefined;
  }

  has(id: string): boolean {
    return this.results.has(id);
  }

  private set(id: string, r: Omit<CheckResult, 'n' | 'id' | 'title' | 'layer' | 'modes' | 'fix' | 'severity' | 'controls'> & { severity?: Severity }): void {
    const meta = getCheck(id);
    const prev = this.results.get(id);
    // A failure is never overwritten by a later pass or error: merge the evidence instead.
    if (prev?.status === 'fail' && r.status !== 'fail') {
      prev.evidence.push(...r.evidence.map(cleanEvidence));
      return;
    }
    this.results.set(id, {
      n: meta.n,
      id,
      title: meta.title,
      status: r.status,
      severity: r.severity ?? meta.severity,
      layer: meta.layer,
      modes: meta.modes,
      evidence: r.evidence.map(cleanEvidence),
      fix: meta.fix,
      controls: meta.controls,
      ...(r.reason !== undefined ? { reason: cleanEvidence(r.reason) } : {}),
      ...(r.reasonCode !== undefined ? { reasonCode: r.reasonCode } : {}),
      ...(r.potential ? { potential: true } : {}),
      ...(r.advisories ? { advisories: r.advisories } : {}),
      ...(r.subProbes ? { subProbes: r.subProbes } : {}),
    });
    if (!prev) this.onDecided?.(this.results.size);
  }

  pass(id: string, ...evidence: string[]): void {
    this.set(id, { status: 'pass', evidence });
  }

  /** A pass that carries extra structured data (e.g. sub-probe results). */
  passWith(id: string, evidence: string[], extra: ResultExtra): void {
    this.set(id, { status: 'pass', evidence, ...extra });
  }

  fail(id: string, evidence: string[], extra: ResultExtra = {}): void {
    this.set(id, { status: 'fail', evidence, ...extra });
  }

  /** The product the banners identified (first identification wins): fixes are written for it. */
  product?: ProductInfo;

  identified(info: ProductInfo | undefined): void {
    if (info && !this.product) this.product = info;
  }

  /** Things a write probe created on the target and could not remove. */
  readonly leftovers: string[] = [];

  leftover(what: string): void {
    this.leftovers.push(what);
  }

  /** Add evidence to a decided check without changing its verdict (ignored while undecided). */
  note(id: string, ...evidence: string[]): void {
    this.results.get(id)?.evidence.push(...evidence.map(cleanEvidence));
  }

  notApplicable(id: string, reason: string): void {
    this.set(id, { status: 'not-applicable', evidence: [], reason, reasonCode: 'precondition' });
  }

  error(id: string, reason: string, reasonCode: ReasonCode = 'probe-failed', evidence: string[] = [], extra: ResultExtra = {}): void {
    this.set(id, { status: 'error', evidence, reason, reasonCode, ...extra });
  }

  /** Mark every still-open check in `ids` as error (e.g. when a shared probe failed). */
  errorAll(ids: readonly string[], reason: string, reasonCode: ReasonCode = 'probe-failed'): void {
    for (const id of ids) if (!this.has(id)) this.error(id, reason, reasonCode);
  }

  /** One result per catalogue check, in catalogue order; anything not decided is reported, never passed. */
  finalize(startedAt: Date, failure?: string): TargetReport {
    const timedOut = this.signal.aborted;
    for (const meta of CATALOGUE) {
      if (this.results.has(meta.id)) continue;
      if (!meta.protocols.includes(this.target.scheme)) {
        this.notApplicable(meta.id, `not applicable to ${this.target.scheme}:// targets`);
        continue;
      }
      const gate = gatingMode(meta);
      if (gate && !this.allowed(gate)) {
        this.error(meta.id, `${gate} check: not run (rerun with --allow ${gate})`, 'mode-not-allowed');
        continue;
      }
      if (failure) {
        this.error(meta.id, failure, 'probe-failed');
        continue;
      }
      if (timedOut && this.implemented.has(meta.id)) {
        this.error(meta.id, 'target time limit reached before this check completed', 'timeout');
        continue;
      }
      this.error(meta.id, 'not implemented yet', 'not-implemented');
    }
    // Snapshot: probes still running after a deadline must not change a finished report.
    const results = CATALOGUE.map((m) => {
      const r = structuredClone(this.results.get(m.id)!);
      const { fix, product } = fixFor(m.id, this.product);
      r.fix = fix;
      if (product) r.fixFor = product;
      return r;
    });
    return {
      target: this.target,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      reachable: this.reachable,
      ...(this.banner !== undefined ? { banner: this.banner } : {}),
      ...(this.certificate !== undefined ? { certificate: { ...this.certificate } } : {}),
      ...(failure !== undefined ? { scannerError: failure } : {}),
      ...(this.leftovers.length ? { leftovers: [...this.leftovers] } : {}),
      results,
    };
  }
}
