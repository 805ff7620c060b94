// What admission counts: open connections in total and per address key, and the connections
// still logging in (the pre-authentication gate, pre-auth.ts). One process counts in a
// LocalTally; with workers (docs/workers.md) every worker's admission asks the primary's one
// LocalTally over IPC (src/workers/), so the caps hold for the node, not per worker: the
// decision and the count are one step in the one process that holds the count.
import type { ErrorCode } from '../errors/index.ts';
import { PreAuthGate, type PreAuthLimits } from './pre-auth.ts';

export interface TallyLimits extends PreAuthLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

export type TallyDecision = { admit: true } | { admit: false; code: ErrorCode; rule: string };

export interface ConnectionTally {
  /** Decides on a newcomer and, if admitted, counts it in the same step. */
  enter(id: string, key: string, address: string): TallyDecision | Promise<TallyDecision>;
  /** Logged in: no longer waiting (the pre-authentication gate), still open. */
  authenticated(id: string): void;
  /** Closed (or never opened after all): counted no more. Idempotent. */
  leave(id: string): void;
  /** A waiting connection must make room for a newcomer (fairness at the gate's cap): `fn`
   * closes it (its owner's admission). */
  onEvict(fn: (id: string, reason: string) => void): void;
}

export class LocalTally implements ConnectionTally {
  private readonly open = new Map<string, string>(); // id → key
  private readonly perAddress = new Map<string, number>();
  private readonly gate: PreAuthGate;
  private readonly evictListeners: ((id: string, reason: string) => void)[] = [];

  constructor(
    private readonly limits: TallyLimits,
    random: () => number = Math.random,
  ) {
    this.gate = new PreAuthGate(limits, random);
  }

  get total(): number {
    return this.open.size;
  }

  get waiting(): number {
    return this.gate.count;
  }

  enter(id: string, key: string, address: string): TallyDecision {
    // SECURITY: checked and taken in one synchronous step: no other newcomer can pass between.
    if (this.open.size >= this.limits.maxConnections) return { admit: false, code: 'ERR_ADMISSION_TOO_MANY_CONNECTIONS', rule: 'limits.maxConnections' };
    if ((this.perAddress.get(key) ?? 0) >= this.limits.maxConnectionsPerAddress) return { admit: false, code: 'ERR_ADMISSION_TOO_MANY_FROM_ADDRESS', rule: 'limits.maxConnectionsPerAddress' };
    const gate = this.gate.check(key);
    if (!gate.admit) return gate;
    this.open.set(id, key);
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
    this.gate.enter(id, key);
    if (gate.evict !== null && this.gate.leave(gate.evict)) {
      const reason = `limits.maxUnauthenticated (${this.limits.maxUnauthenticated}) reached: the oldest waiting connection of the address holding the most made room for ${address}`;
      for (const fn of this.evictListeners) fn(gate.evict, reason);
    }
    return { admit: true };
  }

  authenticated(id: string): void {
    this.gate.leave(id);
  }

  leave(id: string): void {
    this.gate.leave(id);
    const key = this.open.get(id);
    if (key === undefined) return;
    this.open.delete(id);
    const n = (this.perAddress.get(key) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(key);
    else this.perAddress.set(key, n);
  }

  onEvict(fn: (id: string, reason: string) => void): void {
    this.evictListeners.push(fn);
  }
}
