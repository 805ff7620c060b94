// Slows guessing against one account without locking its owner out (issue 14.12). Failed
// logins are counted twice: per source (address, or IPv6 prefix) and name, and per name from
// every source. Past N failures the next attempt waits, the wait doubling per failure up to a
// maximum. The per-source count slows one guesser; the per-name count slows a guesser spread
// over many addresses, but never a source that has logged in as that user before (the owner's
// office, the partner's server). It never refuses: the right password still gets in.
import type { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { addressKeyer, type AddressKeyFn } from './address-key.ts';

/** Timestamps per key, oldest key first; bounded so that sprayed names cannot grow it. */
class Recent {
  private readonly map = new Map<string, number[]>();

  constructor(
    private readonly windowMs: () => number,
    private readonly now: () => number,
  ) {}

  count(key: string): number {
    const cutoff = this.now() - this.windowMs();
    const list = (this.map.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.map.delete(key);
    else this.map.set(key, list);
    return list.length;
  }

  add(key: string): void {
    this.count(key);
    const list = this.map.get(key) ?? [];
    list.push(this.now());
    this.map.delete(key); // re-insert: most recently used last
    this.map.set(key, list);
    while (this.map.size > LIMITS.throttleMaxTracked) this.map.delete(this.map.keys().next().value!);
  }
}

export class UserFailureThrottle {
  private readonly byName: Recent;
  private readonly bySource: Recent;
  /** `source name` -> time of the last successful login from that source as that user. */
  private readonly trusted = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly config: Config['rateLimits'],
    audit: Audit,
    private readonly now: () => number = Date.now,
    private readonly key: AddressKeyFn = addressKeyer(64),
  ) {
    const window = () => this.config.userFailureWindowMinutes * 60_000;
    this.byName = new Recent(window, now);
    this.bySource = new Recent(window, now);
    this.unsubscribe = audit.subscribe((r) => this.observe(r));
  }

  /** A login of this process (its audit bus) or, with workers, of another process of the node. */
  observe(r: AuditRecord): void {
    if (!r.user || !r.remoteAddress || r.protocol === 'cli') return;
    if (r.type === 'auth.failed' && r.reason !== 'too-many-attempts' && r.reason !== 'mfa-not-enrolled') this.record(r.user, r.remoteAddress);
    else if (r.type === 'auth.succeeded') this.trust(r.user, r.remoteAddress);
  }

  private pair(user: string, address: string): string {
    return `${this.key(address)} ${user}`;
  }

  record(user: string, address: string): void {
    this.byName.add(user);
    this.bySource.add(this.pair(user, address));
  }

  trust(user: string, address: string): void {
    const pair = this.pair(user, address);
    this.trusted.delete(pair);
    this.trusted.set(pair, this.now());
    while (this.trusted.size > LIMITS.throttleMaxTracked) this.trusted.delete(this.trusted.keys().next().value!);
  }

  private isTrusted(user: string, address: string): boolean {
    const at = this.trusted.get(this.pair(user, address));
    return at !== undefined && this.now() - at < LIMITS.throttleTrustedSourceMs;
  }

  /** The wait before the next attempt for this user name from this address, ms. */
  delayFor(user: string, address: string): number {
    const before = this.config.userFailuresBeforeDelay;
    const own = this.bySource.count(this.pair(user, address)) - before;
    // SECURITY: failures from other sources never slow a source this user logged in from.
    const everyone = this.isTrusted(user, address) ? -1 : this.byName.count(user) - before;
    const over = Math.max(own, everyone);
    if (over < 0) return 0;
    return Math.min(LIMITS.throttleBaseDelayMs * 2 ** over, this.config.userMaxDelayMs);
  }

  async wait(user: string, address: string): Promise<void> {
    const ms = this.delayFor(user, address);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  close(): void {
    this.unsubscribe();
  }
}
