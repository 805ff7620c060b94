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

export class ClusterLink {
  private readonly local = new MemorySessionCounter();
  /** Slots this node holds on Redis: slot id → user (renewed while the node lives). */
  private readonly held = new Map<string, string>();
  private readonly renewTimer: NodeJS.Timeout;
  private degraded = false;
  private readonly policyListeners: (() => void)[] = [];
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
    await subscriber.subscribe(link.channel);
    subscriber.on('message', (channel: string) => {
      if (channel === link.channel) for (const l of link.policyListeners) l();
    });
    return link;
  }

  private get channel(): string {
    return `${this.prefix}policy`;
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
