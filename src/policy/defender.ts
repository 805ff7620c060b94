// The defender: scores misbehaviour per address from audit events (wrong passwords, unknown
// users, MFA failures, malformed input, limits exceeded) and bans an address whose score
// within the observation window reaches the threshold. Bans live in the store (they survive
// restarts and are shared by nodes on one database); repeat offenders get doubling bans.
import type { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import type { ErrorCode } from '../errors/index.ts';
import type { Ban, PolicyRepository } from '../store/policy-repository.ts';
import { addressKeyer, type AddressKeyFn } from './address-key.ts';
import { IpMatcher } from './ip-matcher.ts';

type DefenderConfig = Config['defender'];

/** 127.0.0.0/8 and ::1 (addresses arrive normalised: no IPv4-mapped form). */
export function isLoopback(address: string): boolean {
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

type Scores = DefenderConfig['scores'];
type AuthFailureReason = Extract<AuditRecord, { type: 'auth.failed' }>['reason'];

/** Points of a failed authentication step, by reason (null: by method, below). */
const AUTH_FAILURE_SCORES: Record<AuthFailureReason, ((s: Scores) => number) | null> = {
  'unknown-user': (s) => s.unknownUser,
  'bad-credentials': null,
  'bad-key': null,
  disabled: null,
  'mfa-locked': null,
  'not-allowed': null,
  'address-not-allowed': null,
  'outside-hours': null,
  // A summary of failures already scored one by one.
  'too-many-attempts': () => 0,
  // The first factor was right and the user has no code yet (an MFA rollout): an honest user,
  // never scored (issue 13.3).
  'mfa-not-enrolled': () => 0,
  'too-many-sessions': () => 0,
};

/** Refusals at accept that score: the connection rate and the per-address cap. */
const REFUSAL_SCORES: Partial<Record<ErrorCode, (s: Scores) => number>> = {
  ERR_ADMISSION_TOO_MANY_FROM_ADDRESS: (s) => s.limitExceeded,
  ERR_ADMISSION_RATE_LIMITED: (s) => s.limitExceeded,
  ERR_ADMISSION_TOO_MANY_UNAUTHENTICATED: (s) => s.limitExceeded,
};

/** Which audit events score, and how much. */
export function scoreOf(record: AuditRecord, scores: Scores): number {
  switch (record.type) {
    case 'auth.failed': {
      const byReason = AUTH_FAILURE_SCORES[record.reason];
      if (byReason) return byReason(scores);
      return record.method === 'totp' ? scores.mfaFailure : scores.wrongPassword;
    }
    case 'protocol.malformed':
      return scores.malformedInput;
    case 'conn.refused':
      return REFUSAL_SCORES[record.code]?.(scores) ?? 0;
    default:
      return 0; // auth.mfa.failed accompanies an auth.failed (method totp), scored above
  }
}

/** A score every node adds to: the total within the window after adding. */
export interface SharedScores {
  add(key: string, points: number, windowMs: number): Promise<number>;
}

/** Workers of one node: a ban made in one is in force in every other before the guess that
 * caused it is answered (src/workers/). */
export interface SharedBans {
  /** Resolves once every other process of the node has been handed the ban. */
  announce(ban: Ban): Promise<void>;
  onAnnounced(fn: (ban: Ban) => void): void;
}

export class Defender {
  private readonly scores = new Map<string, { at: number; points: number }[]>();
  /** Active bans by address key (an IPv4 address or an IPv6 prefix). Reloaded from the store on
   * every policy change. */
  private bans = new Map<string, Ban>();
  /** Bans put in memory (made here or announced), by key: the count of inserts when it was. A
   * reload keeps those put in after its read of the store began (their rows may not be there yet). */
  private readonly insertedAt = new Map<string, number>();
  private inserts = 0;
  /** Scoring still under way per key (a shared total asked for, a ban being made). */
  private readonly pending = new Map<string, Promise<void>>();
  private sharedBans: SharedBans | null = null;
  private readonly banListeners: ((key: string) => void)[] = [];
  private readonly safe: IpMatcher;
  /** Until then (ms), loopback addresses are neither scored nor rate-limited: `posture` scans itself. */
  private selfScanUntil = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly config: DefenderConfig,
    private readonly repo: PolicyRepository,
    private readonly audit: Audit,
    private readonly now: () => number = Date.now,
    /** The counting key of an address (access.ipv6Prefix): scores and bans are per key. */
    readonly key: AddressKeyFn = addressKeyer(64),
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

  /**
   * Called with the key of every ban that comes into force here: one this node decides, and one
   * another node or the CLI wrote to the store (seen on reload). The server closes that key's
   * connections that have not authenticated yet: a ban must stop the guessing in progress, not
   * only new connections (issue 13.3).
   */
  onBanned(listener: (key: string) => void): void {
    this.banListeners.push(listener);
  }

  private announce(key: string): void {
    for (const l of this.banListeners) l(key);
  }

  /** The active ban of an address (by its key), if any (expired bans are dropped and audited as lifted). */
  banOf(address: string): Ban | null {
    const key = this.key(address);
    const ban = this.bans.get(key);
    if (!ban) return null;
    if (Date.parse(ban.expiresAt) <= this.now()) {
      this.bans.delete(key);
      this.audit.emit({ type: 'policy.ban.lifted', remoteAddress: key, reason: 'expired' });
      return null;
    }
    return ban;
  }

  /** Replaces the in-memory ban table with the store's (after a policy change). A ban stored for
   * one IPv6 address (before per-prefix bans) covers its prefix. */
  async reload(): Promise<void> {
    const readFrom = this.inserts;
    const active = await this.repo.activeBans(new Date(this.now()));
    const next = new Map(active.map((b) => [this.key(b.address), b]));
    for (const [key, ban] of this.bans) if (!next.has(key) && (this.insertedAt.get(key) ?? -1) >= readFrom) next.set(key, ban);
    for (const key of this.bans.keys()) {
      if (!next.has(key)) this.audit.emit({ type: 'policy.ban.lifted', remoteAddress: key, reason: 'removed' });
    }
    const added = [...next.keys()].filter((key) => !this.bans.has(key));
    this.bans = next;
    for (const key of added) this.announce(key);
  }

  get activeBans(): Ban[] {
    return [...this.bans.values()].filter((b) => Date.parse(b.expiresAt) > this.now());
  }

  /** Current score of an address (of its key) within the observation window. */
  scoreOf(address: string): number {
    const key = this.key(address);
    const cutoff = this.now() - this.config.observationMinutes * 60_000;
    const list = (this.scores.get(key) ?? []).filter((e) => e.at > cutoff);
    if (list.length === 0) this.scores.delete(key);
    else this.scores.set(key, list);
    return list.reduce((s, e) => s + e.points, 0);
  }

  private observe(record: AuditRecord): void {
    const address = record.remoteAddress;
    if (!address || record.protocol === 'cli') return;
    // A worker's record published in the primary: that worker scored it (the total is shared
    // through the primary), so it is not scored twice.
    if (record.worker !== undefined) return;
    if (record.type === 'conn.refused' && record.code === 'ERR_ADMISSION_BANNED' && !this.config.extendBanOnAttempt) return;
    const points = scoreOf(record, this.config.scores);
    if (points <= 0 || this.isSafe(address)) return;
    const key = this.key(address);
    const list = this.scores.get(key) ?? [];
    list.push({ at: this.now(), points });
    this.scores.set(key, list);
    if (this.scoreOf(key) >= this.config.threshold) {
      this.scores.delete(key);
      this.track(key, this.ban(key, `score reached ${this.config.threshold} within ${this.config.observationMinutes} min`, 'defender').then(() => undefined));
      return;
    }
    // Several nodes: the points also go to the shared score, which every node's attempts add to.
    if (this.shared) {
      const windowMs = this.config.observationMinutes * 60_000;
      this.track(
        key,
        this.shared.add(key, points, windowMs).then(
          async (total) => {
            if (total >= this.config.threshold && !this.banOf(key)) await this.ban(key, `score reached ${this.config.threshold} within ${this.config.observationMinutes} min across nodes`, 'defender');
          },
          () => undefined, // Redis away: this node's own score above still bans
        ),
      );
    }
  }

  private track(key: string, work: Promise<void>): void {
    const before = this.pending.get(key);
    const all = Promise.all([before, work.catch(() => undefined)]).then(() => undefined);
    this.pending.set(key, all);
    void all.then(() => {
      if (this.pending.get(key) === all) this.pending.delete(key);
    });
  }

  /**
   * Resolves once the failures of this address seen so far are counted (across nodes and
   * workers) and any ban they caused is in force here and, with workers, in every worker.
   * SECURITY: a login's refusal waits for it (Core, auth-flow.ts): the guesser hears "wrong"
   * only when its next connection, on whichever worker, meets the ban.
   */
  async settled(address: string): Promise<void> {
    await this.pending.get(this.key(address));
  }

  /** Several nodes: scores added up across them (src/cluster/cluster-link.ts). */
  private shared: SharedScores | null = null;

  shareScores(shared: SharedScores): void {
    this.shared = shared;
  }

  /** Workers: bans made here are handed to the others; theirs are put in force here. */
  shareBans(shared: SharedBans): void {
    this.sharedBans = shared;
    shared.onAnnounced((ban) => {
      const key = this.key(ban.address);
      if (this.banOf(key)) return;
      this.insert(key, ban);
      this.announce(key);
    });
  }

  private insert(key: string, ban: Ban): void {
    this.bans.set(key, ban);
    this.insertedAt.set(key, this.inserts++);
    if (this.insertedAt.size > LIMITS.throttleMaxTracked) this.insertedAt.delete(this.insertedAt.keys().next().value!);
  }

  /** Bans an address (its key: an IPv6 address bans its prefix) now, by the defender or an
   * operator. Repeat offenders within a day get doubling bans. */
  async ban(address: string, reason: string, source: Ban['source'], minutes?: number): Promise<Ban> {
    const now = this.now();
    const key = this.key(address);
    const existing = this.banOf(key);
    if (existing && minutes === undefined) return existing;
    const previous = await this.repo.banCountSince(key, new Date(now - 86_400_000));
    const duration = minutes ?? Math.min(this.config.banMinutes * 2 ** previous, this.config.maxBanMinutes);
    const ban: Ban = { id: 0, address: key, reason, source, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + duration * 60_000).toISOString() };
    // In memory first: the very next connection is refused even before the store answers.
    this.insert(key, ban);
    // Workers: in force in every other worker before this returns (see settled), and before
    // this key's connections here are closed: a guesser whose connection closes must not reach
    // another worker ahead of the ban.
    await this.sharedBans?.announce(ban).catch(() => undefined);
    this.announce(key);
    await this.repo.addBan(ban, new Date(now));
    this.audit.emit({ type: 'policy.ban.added', remoteAddress: key, reason, source, expiresAt: ban.expiresAt, minutes: duration });
    return ban;
  }

  /** Lifts the ban of an address's key (and one stored for the exact address, if older). */
  async lift(address: string): Promise<number> {
    const key = this.key(address);
    const at = new Date(this.now());
    const n = (await this.repo.liftBans(key, at)) + (key !== address ? await this.repo.liftBans(address, at) : 0);
    if (this.bans.delete(key) || n > 0) this.audit.emit({ type: 'policy.ban.lifted', remoteAddress: key, reason: 'removed' });
    return n;
  }

  close(): void {
    this.unsubscribe();
  }
}
