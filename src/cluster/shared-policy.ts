// What processes that serve the same users share, whoever carries it: several nodes through
// Redis (cluster-link.ts), several worker processes of one node through their primary
// (src/workers/). One interface, so the core does not know which: per-user session slots,
// defender scores, connection-rate counters, "rules or bans changed" notices, and the live
// session list and kill.
import type { RateLimiterMemory } from 'rate-limiter-flexible';
import type { SessionControl } from '../admin/session-service.ts';
import type { SharedBans, SharedScores } from '../policy/defender.ts';
import type { SessionCounter } from '../policy/session-counter.ts';

/** A connection-rate counter: `consume` rejects with a RateLimiterRes when the key is over. */
export type SharedRateLimiter = Pick<RateLimiterMemory, 'consume'>;

export interface SharedPolicy {
  /** Session slots per user, counted by every process (the cap holds wherever sessions land). */
  readonly sessions: SessionCounter;
  /** Defender scores added up across processes (a ban follows from the total). */
  readonly scores: SharedScores;
  /** Workers of one node (the primary's hub): bans handed to every process at once. Between
   * nodes a ban travels as a policy change (the store, then a reload). */
  readonly bans?: SharedBans;
  /** A rate counter shared by every process: `points` per `duration` seconds, under `name`. */
  rateLimiter(points: number, duration: number, name: string): SharedRateLimiter;
  /** Tells every process that rules or bans changed in the store. */
  publishPolicyChanged(): void;
  /** Another process (or the CLI) changed rules or bans. */
  onPolicyChanged(listener: () => void): void;
  /** This process's own sessions, answered to the others' list and kill requests. */
  serveSessions(local: SessionControl): void;
  /** Every process's live sessions, and kill wherever the session runs. */
  sessionsAcrossNodes(local: SessionControl): SessionControl;
  close(): Promise<void>;
}
