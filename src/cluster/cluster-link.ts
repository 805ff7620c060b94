// What several nodes share on Redis (docs/cluster.md), beside what they share in the store:
// per-user session slots, so that a cap holds across nodes, and a "policy changed" channel, so
// that a ban or a rule made on one node (or by the CLI) reaches every node at once instead of at
// its next poll of the store. Redis is never the only line: unreachable, each node falls back to
// counting its own sessions and to polling the store (it refuses nothing it would have allowed,
// and says so in the log), and goes back to Redis by itself when it answers again.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { MemorySessionCounter, type SessionCounter, type SessionSlot } from '../policy/session-counter.ts';
import type { Actor } from '../admin/actor.ts';
import type { LiveSession, SessionControl } from '../admin/session-service.ts';
import { isPortcullisError, PortcullisError } from '../errors/index.ts';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { SharedPolicy, SharedRateLimiter } from './shared-policy.ts';

/** A question to every node about its live sessions, and the answers. */
type SessionRequest = { op: 'list'; requestId: string; replyTo: string } | { op: 'kill'; requestId: string; replyTo: string; id: string; actor: Actor };
type SessionReply = { requestId: string; sessions?: LiveSession[]; killed?: LiveSession; error?: string };

/**
 * Takes a slot below the cap in one step. KEYS[1]: the user's sorted set of slots (score: expiry,
 * ms, Redis' own clock so nodes' clocks do not matter). ARGV: cap, slot id, lifetime ms.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Extends one live slot (XX: a slot released meanwhile is not brought back). ARGV: lifetime ms, slot id. */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** Adds points to an address key's score and returns its total within the window. KEYS[1]: the
 * key's sorted set (score: time). ARGV: points, window ms, a unique member. */
const SCORE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local total = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  total = total + tonumber(string.match(m, ':([^:]+)$'))
end
return tostring(total)`;

export class ClusterLink implements SharedPolicy {
  private readonly local = new MemorySessionCounter();
  /** Slots this node holds on Redis: slot id → user (renewed while the node lives). */
  private readonly held = new Map<string, string>();
  private readonly renewTimer: NodeJS.Timeout;
  private degraded = false;
  private readonly policyListeners: (() => void)[] = [];
  /** This node, for replies addressed to it. */
  readonly nodeId = randomUUID();
  private readonly awaiting = new Map<string, (r: SessionReply) => void>();
  private localSessions: SessionControl | null = null;
  /** Publications not yet sent (close waits for them: a CLI ban must reach the nodes). */
  private readonly publishing = new Set<Promise<void>>();

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.renewTimer = setInterval(() => void this.renew(), LIMITS.clusterSlotLifetimeMs / 3);
    this.renewTimer.unref();
  }

  /** Connects (failing fast if Redis does not answer at start: a misconfigured URL is an error). */
  static async connect(config: Config, logger: Logger): Promise<ClusterLink> {
    const { Redis } = await import('ioredis');
    const url = config.redis.url!;
    // Commands fail at once while Redis is away (no offline queue): the fallback takes over.
    const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: (n: number) => Math.min(n * 200, 2_000) };
    const redis = new Redis(url, options);
    const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const c of [redis, subscriber]) c.on('error', () => undefined); // reported through the fallback below
    await redis.connect();
    await subscriber.connect();
    const link = new ClusterLink(redis, subscriber, config.redis.keyPrefix, logger);
    await subscriber.subscribe(link.channel, link.requestChannel, link.replyChannel);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === link.channel) for (const l of link.policyListeners) l();
      else if (channel === link.requestChannel) void link.answer(message);
      else if (channel === link.replyChannel) link.collect(message);
    });
    return link;
  }

  /** Defender scores added up across nodes (a ban follows from the total, on whichever node). */
  readonly scores = {
    add: async (key: string, points: number, windowMs: number): Promise<number> => {
      try {
        const total = Number(await this.redis.eval(SCORE, 1, `${this.prefix}score:${key}`, String(points), String(windowMs), randomUUID()));
        this.recovered();
        return total;
      } catch (err) {
        this.fallBack('adding to a defender score', err as Error);
        throw err;
      }
    },
  };

  /** Connection-rate counters on Redis (rate-limiter-flexible's Redis store). Redis away, each
   * node counts its own (the insurance limiter), so the limit never lapses and never refuses more
   * than it would alone. */
  rateLimiter(points: number, duration: number, name: string): SharedRateLimiter {
    return new RateLimiterRedis({ storeClient: this.redis, keyPrefix: `${this.prefix}rate:${name}`, points, duration, insuranceLimiter: new RateLimiterMemory({ points, duration }) });
  }

  private get channel(): string {
    return `${this.prefix}policy`;
  }

  private get requestChannel(): string {
    return `${this.prefix}sessions`;
  }

  private get replyChannel(): string {
    return `${this.prefix}reply:${this.nodeId}`;
  }

  /** This node's own sessions, answered to the others' list and kill requests. */
  serveSessions(local: SessionControl): void {
    this.localSessions = local;
  }

  private async answer(message: string): Promise<void> {
    let req: SessionRequest;
    try {
      req = JSON.parse(message) as SessionRequest;
    } catch {
      return;
    }
    if (req.replyTo === this.nodeId || !this.localSessions) return;
    let reply: SessionReply;
    try {
      reply = req.op === 'list' ? { requestId: req.requestId, sessions: await this.localSessions.list() } : { requestId: req.requestId, killed: await this.localSessions.kill(req.actor, req.id) };
    } catch (err) {
      reply = { requestId: req.requestId, error: isPortcullisError(err) ? err.code : 'ERR_INTERNAL' };
    }
    await this.redis.publish(`${this.prefix}reply:${req.replyTo}`, JSON.stringify(reply)).catch(() => undefined);
  }

  private collect(message: string): void {
    try {
      const r = JSON.parse(message) as SessionReply;
      this.awaiting.get(r.requestId)?.(r);
    } catch {
      // not ours
    }
  }

  /** Asks every other node; resolves with their replies (all of them, or what came in time). */
  private async ask(req: { op: 'list' } | { op: 'kill'; id: string; actor: Actor }): Promise<SessionReply[]> {
    const requestId = randomUUID();
    const replies: SessionReply[] = [];
    let expected = Infinity;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    this.awaiting.set(requestId, (r) => {
      replies.push(r);
      if (replies.length >= expected) done();
    });
    try {
      // PUBLISH says how many subscribers got it: every node, this one included.
      const receivers = await this.redis.publish(this.requestChannel, JSON.stringify({ ...req, requestId, replyTo: this.nodeId }));
      expected = receivers - 1;
      if (replies.length >= expected) done();
      await Promise.race([finished, new Promise((r) => setTimeout(r, LIMITS.clusterRequestMs).unref())]);
    } catch (err) {
      this.fallBack('asking the other nodes about sessions', err as Error);
    } finally {
      this.awaiting.delete(requestId);
    }
    return replies;
  }

  /** Every node's live sessions, and kill wherever the session runs (audited there, with the actor). */
  sessionsAcrossNodes(local: SessionControl): SessionControl {
    return {
      list: async () => [...(await local.list()), ...(await this.ask({ op: 'list' })).flatMap((r) => r.sessions ?? [])],
      kill: async (actor: Actor, id: string) => {
        try {
          return await local.kill(actor, id);
        } catch (err) {
          if (!isPortcullisError(err, 'ERR_CONTROL_SESSION_NOT_FOUND')) throw err;
        }
        const replies = await this.ask({ op: 'kill', id, actor });
        const killed = replies.find((r) => r.killed)?.killed;
        if (killed) return killed;
        throw new PortcullisError('ERR_CONTROL_SESSION_NOT_FOUND', `no live session "${id.slice(0, 80)}" on any node`);
      },
    };
  }

  /** Tells every node that rules or bans changed in the store. */
  publishPolicyChanged(): void {
    const sent = this.redis
      .publish(this.channel, String(Date.now()))
      .then(() => undefined)
      .catch((err: Error) => this.fallBack('publishing a policy change', err))
      .finally(() => this.publishing.delete(sent));
    this.publishing.add(sent);
  }

  /** Another node (or the CLI) changed rules or bans. */
  onPolicyChanged(listener: () => void): void {
    this.policyListeners.push(listener);
  }

  private fallBack(what: string, err: Error): void {
    if (!this.degraded) this.logger.warn({ err: err.message }, `redis unreachable (${what}): this node counts its own sessions and polls the store for bans until it answers`);
    this.degraded = true;
  }

  private recovered(): void {
    if (this.degraded) this.logger.info('redis answers again: session caps are shared across nodes again');
    this.degraded = false;
  }

  /** Session slots shared by every node, with this node's own count as the fallback. */
  readonly sessions: SessionCounter = {
    acquire: async (user: string, cap: number): Promise<SessionSlot | null> => {
      const id = randomUUID();
      const key = `${this.prefix}sessions:${user}`;
      let taken: number;
      try {
        taken = (await this.redis.eval(ACQUIRE, 1, key, String(cap), id, String(LIMITS.clusterSlotLifetimeMs))) as number;
        this.recovered();
      } catch (err) {
        // SECURITY: Redis away: the cap still holds on this node (never "no cap at all").
        this.fallBack('taking a session slot', err as Error);
        return this.local.acquire(user, cap);
      }
      if (taken !== 1) return null;
      this.held.set(id, user);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          this.held.delete(id);
          // A slot not removed (Redis away) expires with its lifetime: it is no longer renewed.
          this.redis.zrem(key, id).catch(() => undefined);
        },
      };
    },
    count: async (user: string): Promise<number> => {
      try {
        const now = Date.now();
        return await this.redis.zcount(`${this.prefix}sessions:${user}`, now, '+inf');
      } catch {
        return this.local.count(user);
      }
    },
  };

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const entries = [...this.held];
    try {
      const pipeline = this.redis.pipeline();
      for (const [id, user] of entries) pipeline.eval(RENEW, 1, `${this.prefix}sessions:${user}`, String(LIMITS.clusterSlotLifetimeMs), id);
      await pipeline.exec();
      this.recovered();
    } catch (err) {
      this.fallBack('renewing session slots', err as Error);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    await Promise.race([Promise.all(this.publishing), new Promise((r) => setTimeout(r, 2_000).unref())]);
    // This node's slots go now rather than at their expiry.
    await Promise.all([...this.held].map(([id, user]) => this.redis.zrem(`${this.prefix}sessions:${user}`, id).catch(() => undefined)));
    this.redis.disconnect();
    this.subscriber.disconnect();
  }
}
