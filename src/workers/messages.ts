// The messages between the primary and its workers (docs/workers.md), over node:cluster's IPC
// channel. Every message carries `ch: 'portcullis'` so that other users of the channel
// (node:cluster's own) are told apart. Requests carry an id (`rid`) and get one reply with that id.
import { PortcullisError } from '../errors/index.ts';
import type { Actor } from '../admin/actor.ts';
import type { LiveSession } from '../admin/session-service.ts';
import type { AuditRecord } from '../audit/events.ts';
import type { TallyDecision } from '../net/connection-tally.ts';
import type { Ban } from '../store/policy-repository.ts';
import type { ReloadOutcome } from '../server.ts';

export const CHANNEL = 'portcullis';

/** What a worker asks the primary, and what the answer holds. */
export interface WorkerRequests {
  'slot.acquire': { req: { user: string; cap: number }; res: { slot: string | null } };
  'slot.count': { req: { user: string }; res: { count: number } };
  'score.add': { req: { key: string; points: number; windowMs: number }; res: { total: number } };
  'ban.announce': { req: { ban: Ban }; res: Record<string, never> };
  'conn.enter': { req: { id: string; key: string; address: string }; res: TallyDecision };
  'rate.consume': { req: { name: string; points: number; duration: number; key: string }; res: { rejected: boolean; remainingPoints: number; msBeforeNext: number; consumedPoints: number; isFirstInDuration: boolean } };
}

/** What the primary asks a worker. */
export interface PrimaryRequests {
  'sessions.list': { req: Record<string, never>; res: { sessions: LiveSession[] } };
  'sessions.kill': { req: { id: string; actor: Actor }; res: { killed: LiveSession } };
  reload: { req: Record<string, never>; res: { outcome: ReloadOutcome } };
}

export type Request<T> = { [K in keyof T]: { ch: typeof CHANNEL; kind: 'request'; op: K; rid: number } & (T[K] extends { req: infer R } ? R : never) }[keyof T];
export type Reply = { ch: typeof CHANNEL; kind: 'reply'; rid: number; ok: true; value: unknown } | { ch: typeof CHANNEL; kind: 'reply'; rid: number; ok: false; code: string; message: string };

/** One-way notices. */
export type WorkerNotice =
  | { ch: typeof CHANNEL; kind: 'audit'; records: AuditRecord[] }
  | { ch: typeof CHANNEL; kind: 'slot.release'; slot: string }
  | { ch: typeof CHANNEL; kind: 'conn.authenticated'; id: string }
  | { ch: typeof CHANNEL; kind: 'conn.leave'; id: string }
  | { ch: typeof CHANNEL; kind: 'policy.changed' }
  | { ch: typeof CHANNEL; kind: 'stats'; sessions: number }
  | { ch: typeof CHANNEL; kind: 'ready'; listeners: { name: string; scheme: string; address: string; port: number }[] };

export type PrimaryNotice =
  | { ch: typeof CHANNEL; kind: 'policy.changed' }
  /** Stop: drain for up to drainMs (SIGTERM), or end a drain in progress (endDrain). */
  | { ch: typeof CHANNEL; kind: 'stop'; drainMs: number }
  | { ch: typeof CHANNEL; kind: 'endDrain' }
  | { ch: typeof CHANNEL; kind: 'audit.accepting'; accepting: boolean }
  /** A ban made in another process, in force here at once. */
  | { ch: typeof CHANNEL; kind: 'ban'; ban: Ban }
  /** A waiting connection of this worker makes room for a newcomer (the pre-authentication gate). */
  | { ch: typeof CHANNEL; kind: 'conn.evict'; id: string; reason: string }
  /** Logins seen by the other processes, for this worker's per-user failure throttle. */
  | { ch: typeof CHANNEL; kind: 'auth.seen'; records: AuditRecord[] };

/** A message as built before `ch` is added (Omit distributed over the union). */
export type Unsent<T> = T extends unknown ? Omit<T, 'ch'> : never;

export function isOurs(m: unknown): m is { ch: typeof CHANNEL; kind: string } {
  return typeof m === 'object' && m !== null && (m as { ch?: unknown }).ch === CHANNEL;
}

/** Requests waiting for their reply over IPC (either direction): each settles once, by its reply,
 * by its timeout, or when the link closes. */
export class PendingReplies {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  /** A new request id and the promise its reply settles; `send` is called with the id. */
  ask<T>(timeoutMs: number, timeoutMessage: string, send: (rid: number) => void): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PortcullisError('ERR_INTERNAL', timeoutMessage));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      send(id);
    });
  }

  settle(msg: Reply): void {
    const p = this.pending.get(msg.rid);
    if (!p) return;
    this.pending.delete(msg.rid);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(new PortcullisError(msg.code as 'ERR_INTERNAL', msg.message));
  }

  rejectAll(why: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new PortcullisError('ERR_INTERNAL', why));
    }
    this.pending.clear();
  }
}
