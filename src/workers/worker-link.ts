// In a worker process (workers > 1, no Redis): what the worker shares with the others goes
// through the primary (hub.ts), behind the same interface several nodes share through Redis
// (src/cluster/shared-policy.ts). Session slots, defender scores and connection rates are
// counted in the primary, so an address or a user gets one allowance whichever worker its
// connections land on. Every audit record goes to the primary, the one writer of the hash chain.
import { RateLimiterRes } from 'rate-limiter-flexible';
import { LIMITS } from '../config/limits.ts';
import type { SessionControl } from '../admin/session-service.ts';
import type { AuditRecord } from '../audit/events.ts';
import type { SharedPolicy, SharedRateLimiter } from '../cluster/shared-policy.ts';
import type { ConnectionTally, TallyDecision } from '../net/connection-tally.ts';
import type { SharedBans } from '../policy/defender.ts';
import type { Ban } from '../store/policy-repository.ts';
import { isPortcullisError, PortcullisError } from '../errors/index.ts';
import type { SessionCounter, SessionSlot } from '../policy/session-counter.ts';
import type { ReloadOutcome } from '../server.ts';
import { CHANNEL, isOurs, type PrimaryNotice, type PrimaryRequests, type Reply, type Request, type Unsent, type WorkerNotice, type WorkerRequests, PendingReplies } from './messages.ts';


/** What the worker's server does for the primary. */
export interface WorkerHandlers {
  sessions: SessionControl;
  reload(): ReloadOutcome;
  stop(drainMs: number): void;
  endDrain(): void;
}

export class WorkerLink implements SharedPolicy {
  private readonly evictListeners: ((id: string, reason: string) => void)[] = [];
  private readonly loginListeners: ((r: AuditRecord) => void)[] = [];
  private readonly replies = new PendingReplies();
  private readonly policyListeners: (() => void)[] = [];
  private handlers: Partial<WorkerHandlers> = {};
  private readonly onMessage = (m: unknown): void => this.receive(m);
  /** The primary's trail takes records (false: no room; new sessions are refused, as in one process). */
  auditAccepting = true;
  private outbox: AuditRecord[] = [];

  constructor(
    /** node:cluster's worker id (1, 2, … ; a replacement gets a new one). */
    readonly workerId: number,
    private readonly send: (m: unknown) => void = (m) => process.send?.(m),
  ) {
    process.on('message', this.onMessage);
  }

  private request<K extends keyof WorkerRequests>(op: K, req: WorkerRequests[K]['req']): Promise<WorkerRequests[K]['res']> {
    return this.replies.ask(LIMITS.workerRequestMs, `the primary did not answer ${op} within ${LIMITS.workerRequestMs} ms`, (rid) => this.send({ ch: CHANNEL, kind: 'request', op, rid, ...req }));
  }

  private notify(m: Unsent<WorkerNotice>): void {
    this.send({ ch: CHANNEL, ...m });
  }

  /**
   * An audit record of this worker: marked with the worker's id and sent to the primary in the
   * same turn of the event loop as it was emitted (batched per turn), so a worker killed later
   * loses none of it; one killed in the same turn may lose that turn's records (docs/workers.md).
   */
  forwardAudit(record: AuditRecord): void {
    this.outbox.push({ ...record, worker: this.workerId });
    if (this.outbox.length === 1) process.nextTick(() => this.flushAudit());
  }

  private flushAudit(): void {
    const records = this.outbox;
    this.outbox = [];
    if (records.length > 0) this.notify({ kind: 'audit', records });
  }

  serveHandlers(h: Partial<WorkerHandlers>): void {
    this.handlers = { ...this.handlers, ...h };
  }

  ready(listeners: { name: string; scheme: string; address: string; port: number }[]): void {
    this.notify({ kind: 'ready', listeners });
  }

  stats(sessions: number): void {
    this.notify({ kind: 'stats', sessions });
  }

  private receive(m: unknown): void {
    if (!isOurs(m)) return;
    const msg = m as Reply | Request<PrimaryRequests> | PrimaryNotice;
    if (msg.kind === 'reply') {
      this.replies.settle(msg);
      return;
    }
    if (msg.kind === 'request') {
      void this.answer(msg);
      return;
    }
    switch (msg.kind) {
      case 'policy.changed':
        for (const l of this.policyListeners) l();
        break;
      case 'audit.accepting':
        this.auditAccepting = msg.accepting;
        break;
      case 'ban':
        for (const fn of this.banListeners) fn(msg.ban);
        break;
      case 'conn.evict':
        for (const fn of this.evictListeners) fn(msg.id, msg.reason);
        break;
      case 'auth.seen':
        for (const r of msg.records) for (const fn of this.loginListeners) fn(r);
        break;
      case 'stop':
        this.handlers.stop?.(msg.drainMs);
        break;
      case 'endDrain':
        this.handlers.endDrain?.();
        break;
      default:
    }
  }

  private async answer(req: Request<PrimaryRequests>): Promise<void> {
    let value: unknown;
    try {
      const s = this.handlers.sessions;
      if (req.op === 'sessions.list') value = { sessions: s ? await s.list() : [] };
      else if (req.op === 'sessions.kill') {
        if (!s) throw new PortcullisError('ERR_CONTROL_SESSION_NOT_FOUND', 'no sessions here');
        value = { killed: await s.kill(req.actor, req.id) };
      } else if (req.op === 'reload') {
        if (!this.handlers.reload) throw new PortcullisError('ERR_CONTROL_BAD_REQUEST', 'not ready');
        value = { outcome: this.handlers.reload() };
      }
      this.send({ ch: CHANNEL, kind: 'reply', rid: req.rid, ok: true, value });
    } catch (err) {
      const code = isPortcullisError(err) ? err.code : 'ERR_INTERNAL';
      this.send({ ch: CHANNEL, kind: 'reply', rid: req.rid, ok: false, code, message: (err as Error).message.slice(0, 300) });
    }
  }

  readonly sessions: SessionCounter = {
    acquire: async (user: string, cap: number): Promise<SessionSlot | null> => {
      // SECURITY: the primary holds every worker's slots: a cap of 1 is 1 across workers. No
      // answer: refused (the session would otherwise be uncounted).
      const { slot } = await this.request('slot.acquire', { user, cap });
      if (slot === null) return null;
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          this.notify({ kind: 'slot.release', slot });
        },
      };
    },
    count: async (user: string) => (await this.request('slot.count', { user })).count,
  };

  /** The node's connection caps and pre-authentication gate, counted in the primary. */
  readonly tally: ConnectionTally = {
    enter: async (id: string, key: string, address: string): Promise<TallyDecision> => {
      try {
        return await this.request('conn.enter', { id, key, address });
      } catch (err) {
        // Unanswered in time: should the primary count it later, it is given back (IPC keeps
        // the order: the leave arrives after the enter). The caller refuses (fail closed).
        this.notify({ kind: 'conn.leave', id });
        throw err;
      }
    },
    authenticated: (id: string) => this.notify({ kind: 'conn.authenticated', id }),
    leave: (id: string) => this.notify({ kind: 'conn.leave', id }),
    onEvict: (fn: (id: string, reason: string) => void) => void this.evictListeners.push(fn),
  };

  private readonly banListeners: ((ban: Ban) => void)[] = [];

  /** Bans: this worker's go to every other process through the primary (answered once sent). */
  readonly bans: SharedBans = {
    announce: async (ban: Ban) => void (await this.request('ban.announce', { ban })),
    onAnnounced: (fn: (ban: Ban) => void) => void this.banListeners.push(fn),
  };

  /** Logins (failed and succeeded) the other processes of the node saw. */
  onOthersLogins(fn: (r: AuditRecord) => void): void {
    this.loginListeners.push(fn);
  }

  readonly scores = {
    add: async (key: string, points: number, windowMs: number): Promise<number> => (await this.request('score.add', { key, points, windowMs })).total,
  };

  rateLimiter(points: number, duration: number, name: string): SharedRateLimiter {
    return {
      consume: async (key: string | number) => {
        const r = await this.request('rate.consume', { name, points, duration, key: String(key) });
        const res = new RateLimiterRes(r.remainingPoints, r.msBeforeNext, r.consumedPoints, r.isFirstInDuration);
        // rate-limiter-flexible's convention (BurstyRateLimiter tells a refusal by it): the result, not an Error.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (r.rejected) throw res;
        return res;
      },
    };
  }

  publishPolicyChanged(): void {
    this.notify({ kind: 'policy.changed' });
  }

  onPolicyChanged(listener: () => void): void {
    this.policyListeners.push(listener);
  }

  serveSessions(local: SessionControl): void {
    this.handlers.sessions = local;
  }

  /** A worker lists and kills its own: the operator's view across workers is the primary's. */
  sessionsAcrossNodes(local: SessionControl): SessionControl {
    return local;
  }

  async close(): Promise<void> {
    this.flushAudit();
    process.off('message', this.onMessage);
    this.replies.rejectAll('worker stopping');
  }
}
