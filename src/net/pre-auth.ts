// The pre-authentication gate (issue 14.2): connections that have not logged in yet cost the
// server a slot and, on SSH, a key exchange, and prove nothing. They are counted from accept
// until authentication succeeds or the socket closes, per address key (an IPv4 address or an
// IPv6 prefix) and in total:
// - per address key: at most `maxUnauthenticatedPerAddress`;
// - in total: from `unauthenticatedDropFrom` on, a new connection from a key that already has
//   one waiting is dropped at random (30 % at the start, rising to 100 % at the cap: OpenSSH's
//   MaxStartups start:rate:full); a key with none waiting is never dropped at random;
// - at `maxUnauthenticated`, a newcomer whose key holds fewer waiting connections than the
//   heaviest key takes the place of that key's oldest one, so a flood from some addresses can
//   fill the slots but cannot keep everyone else out;
// - every waiting connection has a deadline from accept (`loginTimeoutMs`) covering the
//   identification line, the key exchange or TLS handshake, and authentication (kept by the
//   admission of the process holding the socket: admission.ts).
// The gate only counts (connection-tally.ts holds it, in the primary with workers).
import { LIMITS } from '../config/limits.ts';
import type { ErrorCode } from '../errors/index.ts';

export interface PreAuthLimits {
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
  unauthenticatedDropFrom: number;
  loginTimeoutMs: number;
}

export type PreAuthDecision = { admit: true; evict: string | null } | { admit: false; code: ErrorCode; rule: string };

export class PreAuthGate {
  private readonly waiting = new Map<string, string>(); // id → key
  /** Waiting connection ids per key, oldest first. */
  private readonly byKey = new Map<string, Set<string>>();

  constructor(
    private readonly limits: PreAuthLimits,
    private readonly random: () => number = Math.random,
  ) {}

  get count(): number {
    return this.waiting.size;
  }

  countOf(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  /** Decides on a newcomer from `key`. Synchronous: the caller enters it in the same step. */
  check(key: string): PreAuthDecision {
    const { maxUnauthenticated: full, maxUnauthenticatedPerAddress: perKey, unauthenticatedDropFrom: start } = this.limits;
    const mine = this.countOf(key);
    if (mine >= perKey) {
      return { admit: false, code: 'ERR_ADMISSION_TOO_MANY_UNAUTHENTICATED', rule: `limits.maxUnauthenticatedPerAddress (${perKey}): this address has that many connections still logging in; finish or close them, or raise the limit` };
    }
    const total = this.waiting.size;
    if (total >= full) {
      // SECURITY: fairness at the cap: the newcomer replaces the oldest waiting connection of
      // the key holding the most, if that key holds more than the newcomer's would.
      const [heaviest, held] = this.heaviest();
      if (heaviest !== null && held > mine + 1) return { admit: true, evict: this.byKey.get(heaviest)!.values().next().value! };
      return { admit: false, code: 'ERR_ADMISSION_PREAUTH_BUSY', rule: `limits.maxUnauthenticated (${full}): that many connections are still logging in; they end at limits.loginTimeoutMs` };
    }
    if (total >= start && mine > 0) {
      const p = LIMITS.preAuthDropRate + ((1 - LIMITS.preAuthDropRate) * (total - start)) / Math.max(1, full - start);
      if (this.random() < p) {
        return { admit: false, code: 'ERR_ADMISSION_PREAUTH_BUSY', rule: `limits.unauthenticatedDropFrom (${start}): ${total} connections are logging in; early random drop (${Math.round(p * 100)} %) of addresses that already have one waiting` };
      }
    }
    return { admit: true, evict: null };
  }

  private heaviest(): [string | null, number] {
    let best: string | null = null;
    let n = 0;
    for (const [key, ids] of this.byKey) {
      if (ids.size > n) [best, n] = [key, ids.size];
    }
    return [best, n];
  }

  /** Counts a connection as waiting. */
  enter(id: string, key: string): void {
    this.waiting.set(id, key);
    let ids = this.byKey.get(key);
    if (!ids) this.byKey.set(key, (ids = new Set()));
    ids.add(id);
  }

  /** Authenticated or closed: no longer waiting. True if it was. Idempotent. */
  leave(id: string): boolean {
    const key = this.waiting.get(id);
    if (key === undefined) return false;
    this.waiting.delete(id);
    const ids = this.byKey.get(key)!;
    ids.delete(id);
    if (ids.size === 0) this.byKey.delete(key);
    return true;
  }
}
