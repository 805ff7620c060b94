// In the primary (workers > 1): the one place where what the workers share is counted, and the
// one writer of the audit trail. Workers ask over IPC (worker-link.ts); the primary's own core
// uses the same counters through the SharedPolicy interface. A worker that dies gives its
// session slots and connections back at once. With Redis (redis.url) the workers share slots,
// scores and rates through Redis as nodes do; the connection caps of the node (one tally), the
// audit records, the logins for the failure throttle, the live-session questions and reloads
// still go through the hub.
import type { Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Actor } from '../admin/actor.ts';
import type { LiveSession, SessionControl } from '../admin/session-service.ts';
import type { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import type { SharedPolicy, SharedRateLimiter } from '../cluster/shared-policy.ts';
import { LIMITS } from '../config/limits.ts';
import { isPortcullisError, PortcullisError } from '../errors/index.ts';
import type { LocalTally } from '../net/connection-tally.ts';
import type { SharedBans } from '../policy/defender.ts';
import type { Ban } from '../store/policy-repository.ts';
import { MemorySessionCounter, type SessionSlot } from '../policy/session-counter.ts';
import type { ReloadOutcome } from '../server.ts';
import { CHANNEL, isOurs, type PrimaryNotice, type PrimaryRequests, type Reply, type Request, type Unsent, type WorkerNotice, type WorkerRequests, PendingReplies } from './messages.ts';


export interface WorkerState {
  worker: Worker;
  sessions: number;
  listeners: { name: string; scheme: string; address: string; port: number }[] | null;
}

export class WorkerHub implements SharedPolicy {
  private readonly counter = new MemorySessionCounter();
  /** Slots held by workers: slot id → the worker and the slot. */
  private readonly slots = new Map<string, { worker: number; slot: SessionSlot }>();
  private readonly scoreTable = new Map<string, { at: number; points: number }[]>();
  private readonly limiters = new Map<string, RateLimiterMemory>();
  private readonly policyListeners: (() => void)[] = [];
  readonly workers = new Map<number, WorkerState>();
  private readonly replies = new PendingReplies();
  private readyListeners: ((w: WorkerState) => void)[] = [];
  /** Open connections of every worker: id → the worker holding it. */
  private readonly connections = new Map<string, number>();
  private loginsOut: AuditRecord[] = [];
  private readonly unsubscribe: () => void;

  constructor(
    /** The primary's audit bus: workers' records are published on it for the trail and alerts. */
    private readonly audit: Audit,
    /** Redis shares slots, scores and rates (the workers use it directly). */
    private readonly viaRedis: SharedPolicy | null = null,
    /** The node's connection caps and pre-authentication gate, counted once for every worker. */
    readonly tally: LocalTally,
    /** The primary's trail: while it cannot be written, workers refuse new sessions as it does. */
    private readonly trail: { readonly accepting: boolean; onNotice(fn: (r: AuditRecord) => void): () => void } | null = null,
    private readonly now: () => number = Date.now,
  ) {
    // SECURITY: the pre-authentication gate's fairness evicts the oldest waiting connection of
    // the heaviest address, whichever worker holds it.
    tally.onEvict((id, reason) => {
      const w = this.workers.get(this.connections.get(id) ?? -1);
      if (w) this.send(w.worker, { kind: 'conn.evict', id, reason });
    });
    const unnotice = trail?.onNotice((r) => {
      if (r.type === 'audit.storage.failed' || r.type === 'audit.storage.recovered') this.broadcast({ kind: 'audit.accepting', accepting: trail.accepting });
    });
    // SECURITY: the per-user failure throttle slows a guesser by the failures of every process:
    // each worker hears the logins the others (and the primary's portal and admin) saw.
    const unsubscribe = audit.subscribe((r) => {
      if ((r.type !== 'auth.failed' && r.type !== 'auth.succeeded') || !r.user || !r.remoteAddress) return;
      this.loginsOut.push(r);
      if (this.loginsOut.length === 1) process.nextTick(() => this.relayLogins());
    });
    this.unsubscribe = () => {
      unnotice?.();
      unsubscribe();
    };
  }

  private relayLogins(): void {
    const records = this.loginsOut;
    this.loginsOut = [];
    for (const w of this.workers.values()) {
      const others = records.filter((r) => r.worker !== w.worker.id);
      if (others.length > 0) this.send(w.worker, { kind: 'auth.seen', records: others });
    }
  }

  /** A forked worker: its messages are answered from now on; its slots go when it exits. */
  attach(worker: Worker): void {
    this.workers.set(worker.id, { worker, sessions: 0, listeners: null });
    worker.on('message', (m: unknown) => this.receive(worker, m));
  }

  /** A worker exited: every slot and connection it held is free again, its questions unanswered. */
  detach(workerId: number): void {
    this.workers.delete(workerId);
    for (const [id, w] of this.connections) {
      if (w !== workerId) continue;
      this.connections.delete(id);
      this.tally.leave(id);
    }
    for (const [id, s] of this.slots) {
      if (s.worker !== workerId) continue;
      s.slot.release();
      this.slots.delete(id);
    }
  }

  onReady(fn: (w: WorkerState) => void): void {
    this.readyListeners.push(fn);
  }

  private send(worker: Worker, m: Unsent<Reply | PrimaryNotice | Request<PrimaryRequests>>): void {
    if (!worker.isConnected()) return;
    worker.send({ ch: CHANNEL, ...m }, undefined, () => undefined);
  }

  broadcast(m: Unsent<PrimaryNotice>): void {
    for (const w of this.workers.values()) this.send(w.worker, m);
  }

  private receive(worker: Worker, m: unknown): void {
    if (!isOurs(m)) return;
    const msg = m as Request<WorkerRequests> | WorkerNotice | Reply;
    switch (msg.kind) {
      case 'request':
        void this.answer(worker, msg);
        return;
      case 'reply': {
        this.replies.settle(msg);
        return;
      }
      case 'audit':
        // The worker's records, as the worker made them (its id in `worker`), into the primary's
        // trail and alerts. The defender does not score them again (the worker did).
        for (const r of msg.records) this.audit.channel.publish(r);
        return;
      case 'slot.release': {
        const s = this.slots.get(msg.slot);
        if (s?.worker !== worker.id) return;
        s.slot.release();
        this.slots.delete(msg.slot);
        return;
      }
      case 'policy.changed':
        this.publishPolicyChanged();
        return;
      case 'stats': {
        const w = this.workers.get(worker.id);
        if (w) w.sessions = msg.sessions;
        return;
      }
      case 'conn.authenticated':
        if (this.connections.get(msg.id) === worker.id) this.tally.authenticated(msg.id);
        return;
      case 'conn.leave':
        if (this.connections.get(msg.id) !== worker.id) return;
        this.connections.delete(msg.id);
        this.tally.leave(msg.id);
        return;
      case 'ready': {
        const w = this.workers.get(worker.id);
        if (!w) return;
        w.listeners = msg.listeners;
        if (this.trail && !this.trail.accepting) this.send(worker, { kind: 'audit.accepting', accepting: false });
        for (const fn of this.readyListeners) fn(w);
        return;
      }
      default:
    }
  }

  private async answer(worker: Worker, req: Request<WorkerRequests>): Promise<void> {
    let value: unknown;
    try {
      switch (req.op) {
        case 'slot.acquire': {
          const slot = await this.counter.acquire(req.user, req.cap);
          if (!slot) {
            value = { slot: null };
            break;
          }
          // The worker may have died while we counted: then the slot goes back at once.
          if (!this.workers.has(worker.id)) {
            slot.release();
            return;
          }
          const id = randomUUID();
          this.slots.set(id, { worker: worker.id, slot });
          value = { slot: id };
          break;
        }
        case 'slot.count':
          value = { count: await this.counter.count(req.user) };
          break;
        case 'ban.announce':
          // SECURITY: sent to every other worker before the reply: IPC keeps the order, so a
          // connection the primary hands a worker after this reaches it after the ban.
          this.announceBan(req.ban, worker.id);
          value = {};
          break;
        case 'conn.enter': {
          // A worker that died while asking holds nothing: not counted.
          if (!this.workers.has(worker.id) || this.connections.has(req.id)) throw new PortcullisError('ERR_INTERNAL', 'connection not counted');
          const d = this.tally.enter(req.id, req.key, req.address);
          if (d.admit) this.connections.set(req.id, worker.id);
          value = d;
          break;
        }
        case 'score.add':
          value = { total: await this.scores.add(req.key, req.points, req.windowMs) };
          break;
        case 'rate.consume': {
          const limiter = this.limiterFor(req.name, req.points, req.duration);
          const r = await limiter.consume(req.key).then(
            (res) => ({ rejected: false, res }),
            (res: unknown) => {
              if (res instanceof RateLimiterRes) return { rejected: true, res };
              throw res;
            },
          );
          value = { rejected: r.rejected, remainingPoints: r.res.remainingPoints, msBeforeNext: r.res.msBeforeNext, consumedPoints: r.res.consumedPoints, isFirstInDuration: r.res.isFirstInDuration };
          break;
        }
        default:
          throw new PortcullisError('ERR_INTERNAL', 'unknown request');
      }
      this.send(worker, { kind: 'reply', rid: req.rid, ok: true, value });
    } catch (err) {
      this.send(worker, { kind: 'reply', rid: req.rid, ok: false, code: isPortcullisError(err) ? err.code : 'ERR_INTERNAL', message: (err as Error).message.slice(0, 300) });
    }
  }

  private readonly banListeners: ((ban: Ban) => void)[] = [];

  /** A ban in force in the primary's own core and in every worker but the one it came from. */
  private announceBan(ban: Ban, from: number | null): void {
    for (const w of this.workers.values()) if (w.worker.id !== from) this.send(w.worker, { kind: 'ban', ban });
    if (from !== null) for (const fn of this.banListeners) fn(ban);
  }

  /** SharedBans for the primary's own defender (a ban from the admin API, the portal's sign-ins). */
  readonly bans: SharedBans = {
    announce: (ban: Ban) => {
      this.announceBan(ban, null);
      return Promise.resolve();
    },
    onAnnounced: (fn: (ban: Ban) => void) => void this.banListeners.push(fn),
  };

  private limiterFor(name: string, points: number, duration: number): RateLimiterMemory {
    const key = `${name}:${points}:${duration}`;
    let l = this.limiters.get(key);
    if (!l) this.limiters.set(key, (l = new RateLimiterMemory({ points, duration })));
    return l;
  }

  /** Asks one worker; rejects after LIMITS.clusterRequestMs. */
  private ask<K extends keyof PrimaryRequests>(worker: Worker, op: K, req: PrimaryRequests[K]['req']): Promise<PrimaryRequests[K]['res']> {
    return this.replies.ask(LIMITS.clusterRequestMs, `worker ${worker.id} did not answer ${op} within ${LIMITS.clusterRequestMs} ms`, (rid) =>
      this.send(worker, { kind: 'request', op, rid, ...req } as Unsent<Request<PrimaryRequests>>),
    );
  }

  /** Every worker's answer (those that answered in time). */
  private async askAll<K extends keyof PrimaryRequests>(op: K, req: PrimaryRequests[K]['req']): Promise<{ worker: number; value?: PrimaryRequests[K]['res']; error?: Error }[]> {
    return Promise.all(
      [...this.workers.values()].map((w) =>
        this.ask(w.worker, op, req).then(
          (value) => ({ worker: w.worker.id, value }),
          (error: Error) => ({ worker: w.worker.id, error }),
        ),
      ),
    );
  }

  /** SIGHUP / `portcullis reload` in every worker: each one's outcome. */
  async reloadWorkers(): Promise<{ worker: number; outcome?: ReloadOutcome; error?: string }[]> {
    return (await this.askAll('reload', {})).map((r) => ({ worker: r.worker, ...(r.value ? { outcome: r.value.outcome } : { error: r.error?.message ?? 'no answer' }) }));
  }

  /** Every worker's open connections, as the node's tally counts them. */
  get connectionCount(): number {
    return this.tally.total;
  }

  get sessionCount(): number {
    return [...this.workers.values()].reduce((n, w) => n + w.sessions, 0);
  }

  // SharedPolicy, for the primary's own core (admin API, control socket, CLI-made bans).
  get sessions() {
    return this.viaRedis?.sessions ?? this.counter;
  }

  readonly scores = {
    add: async (key: string, points: number, windowMs: number): Promise<number> => {
      if (this.viaRedis) return this.viaRedis.scores.add(key, points, windowMs);
      const now = this.now();
      const list = (this.scoreTable.get(key) ?? []).filter((e) => e.at > now - windowMs);
      list.push({ at: now, points });
      this.scoreTable.set(key, list);
      // Bounded: keys without a recent point go (the window is the defender's).
      if (this.scoreTable.size > LIMITS.throttleMaxTracked) this.scoreTable.delete(this.scoreTable.keys().next().value!);
      return list.reduce((n, e) => n + e.points, 0);
    },
  };

  rateLimiter(points: number, duration: number, name: string): SharedRateLimiter {
    return this.viaRedis?.rateLimiter(points, duration, name) ?? this.limiterFor(name, points, duration);
  }

  publishPolicyChanged(): void {
    this.broadcast({ kind: 'policy.changed' });
    for (const l of this.policyListeners) l();
    this.viaRedis?.publishPolicyChanged();
  }

  onPolicyChanged(listener: () => void): void {
    this.policyListeners.push(listener);
    this.viaRedis?.onPolicyChanged(listener);
  }

  serveSessions(local: SessionControl): void {
    this.viaRedis?.serveSessions(local);
  }

  sessionsAcrossNodes(local: SessionControl): SessionControl {
    // With Redis every worker answers on Redis as a node does.
    if (this.viaRedis) return this.viaRedis.sessionsAcrossNodes(local);
    return {
      list: async () => [...(await local.list()), ...(await this.askAll('sessions.list', {})).flatMap((r) => r.value?.sessions ?? [])],
      kill: async (actor: Actor, id: string): Promise<LiveSession> => {
        try {
          return await local.kill(actor, id);
        } catch (err) {
          if (!isPortcullisError(err, 'ERR_CONTROL_SESSION_NOT_FOUND')) throw err;
        }
        const replies = await this.askAll('sessions.kill', { id, actor });
        const killed = replies.find((r) => r.value?.killed)?.value?.killed;
        if (killed) return killed;
        throw new PortcullisError('ERR_CONTROL_SESSION_NOT_FOUND', `no live session "${id.slice(0, 80)}" in any worker`);
      },
    };
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.replies.rejectAll('stopping');
    await this.viaRedis?.close();
  }
}
