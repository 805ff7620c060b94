// The defender: scores misbehaviour per address from audit events (wrong passwords, unknown
// users, MFA failures, malformed input, limits exceeded) and bans an address whose score
// within the observation window reaches the threshold. Bans live in the store (they survive
// restarts and are shared by nodes on one database); repeat offenders get doubling bans.
import type { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import type { Ban, PolicyRepository } from '../store/policy-repository.ts';
import { IpMatcher } from './ip-matcher.ts';

type DefenderConfig = Config['defender'];

/** 127.0.0.0/8 and ::1 (addresses arrive normalised: no IPv4-mapped form). */
export function isLoopback(address: string): boolean {
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** Which audit events score, and how much. */
export function scoreOf(record: AuditRecord, scores: DefenderConfig['scores']): number {
  switch (record.type) {
    case 'auth.failed':
      if (record.reason === 'too-many-attempts') return 0; // a summary of failures already scored
      if (record.reason === 'unknown-user') return scores.unknownUser;
      if (record.method === 'totp') return scores.mfaFailure;
      return scores.wrongPassword;
    case 'protocol.malformed':
      return scores.malformedInput;
    case 'conn.refused':
      return record.code === 'ERR_ADMISSION_TOO_MANY_FROM_ADDRESS' || record.code === 'ERR_ADMISSION_RATE_LIMITED' ? scores.limitExceeded : 0;
    default:
      return 0; // auth.mfa.failed accompanies an auth.failed (method totp), scored above
  }
}

export class Defender {
  private readonly scores = new Map<string, { at: number; points: number }[]>();
  /** Active bans by address (expiry in ms). Reloaded from the store on every policy change. */
  private bans = new Map<string, Ban>();
  private readonly safe: IpMatcher;
  /** Until then (ms), loopback addresses are neither scored nor rate-limited: `posture` scans itself. */
  private selfScanUntil = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly config: DefenderConfig,
    private readonly repo: PolicyRepository,
    private readonly audit: Audit,
    private readonly now: () => number = Date.now,
  ) {
    this.safe = new IpMatcher(config.safeList.map((cidr) => ({ cidr, source: 'defender.safeList' })));
    this.unsubscribe = config.enabled ? audit.subscribe((r) => this.observe(r)) : () => undefined;
  }

  isSafe(address: string): boolean {
    return this.safe.match(address, 'sftp') !== null || (this.now() < this.selfScanUntil && isLoopback(address));
  }

  /**
   * SECURITY: `portcullis posture` probes this server from loopback (unknown users, legacy TLS
   * hellos) and must not ban 127.0.0.1 for everyone else on the host. Only the server's own
   * account can ask (the control socket is 0600), only loopback is exempt, and only for at most
   * LIMITS.postureSelfScanMaxMs; bans already in force stay in force. Pass 0 to end it.
   */
  exemptLoopback(ms: number): void {
    this.selfScanUntil = ms > 0 ? this.now() + Math.min(ms, LIMITS.postureSelfScanMaxMs) : 0;
  }

  /** The active ban of an address, if any (expired bans are dropped and audited as lifted). */
  banOf(address: string): Ban | null {
    const ban = this.bans.get(address);
    if (!ban) return null;
    if (Date.parse(ban.expiresAt) <= this.now()) {
      this.bans.delete(address);
      this.audit.emit({ type: 'policy.ban.lifted', remoteAddress: address, reason: 'expired' });
      return null;
    }
    return ban;
  }

  /** Replaces the in-memory ban table with the store's (after a policy change). */
  async reload(): Promise<void> {
    const active = await this.repo.activeBans(new Date(this.now()));
    const next = new Map(active.map((b) => [b.address, b]));
    for (const address of this.bans.keys()) {
      if (!next.has(address)) this.audit.emit({ type: 'policy.ban.lifted', remoteAddress: address, reason: 'removed' });
    }
    this.bans = next;
  }

  get activeBans(): Ban[] {
    return [...this.bans.values()].filter((b) => Date.parse(b.expiresAt) > this.now());
  }

  /** Current score of an address within the observation window. */
  scoreOf(address: string): number {
    const cutoff = this.now() - this.config.observationMinutes * 60_000;
    const list = (this.scores.get(address) ?? []).filter((e) => e.at > cutoff);
    if (list.length === 0) this.scores.delete(address);
    else this.scores.set(address, list);
    return list.reduce((s, e) => s + e.points, 0);
  }

  private observe(record: AuditRecord): void {
    const address = record.remoteAddress;
    if (!address || record.protocol === 'cli') return;
    if (record.type === 'conn.refused' && record.code === 'ERR_ADMISSION_BANNED' && !this.config.extendBanOnAttempt) return;
    const points = scoreOf(record, this.config.scores);
    if (points <= 0 || this.isSafe(address)) return;
    const list = this.scores.get(address) ?? [];
    list.push({ at: this.now(), points });
    this.scores.set(address, list);
    if (this.scoreOf(address) >= this.config.threshold) {
      this.scores.delete(address);
      void this.ban(address, `score reached ${this.config.threshold} within ${this.config.observationMinutes} min`, 'defender').catch(() => undefined);
    }
  }

  /** Bans an address now (defender or operator). Repeat offenders within a day get doubling bans. */
  async ban(address: string, reason: string, source: Ban['source'], minutes?: number): Promise<Ban> {
    const now = this.now();
    const existing = this.banOf(address);
    if (existing && minutes === undefined) return existing;
    const previous = await this.repo.banCountSince(address, new Date(now - 86_400_000));
    const duration = minutes ?? Math.min(this.config.banMinutes * 2 ** previous, this.config.maxBanMinutes);
    const ban: Ban = { id: 0, address, reason, source, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + duration * 60_000).toISOString() };
    // In memory first: the very next connection is refused even before the store answers.
    this.bans.set(address, ban);
    await this.repo.addBan(ban, new Date(now));
    this.audit.emit({ type: 'policy.ban.added', remoteAddress: address, reason, source, expiresAt: ban.expiresAt, minutes: duration });
    return ban;
  }

  async lift(address: string): Promise<number> {
    const n = await this.repo.liftBans(address, new Date(this.now()));
    if (this.bans.delete(address) || n > 0) this.audit.emit({ type: 'policy.ban.lifted', remoteAddress: address, reason: 'removed' });
    return n;
  }

  close(): void {
    this.unsubscribe();
  }
}
