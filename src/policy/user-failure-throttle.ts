// Slows guessing against one account from many addresses: after N failed logins for a user
// name (from anywhere) within a window, every further attempt for that name waits, the wait
// doubling per failure up to a maximum. It never refuses: the right password still gets in,
// so an attacker cannot lock a user out; it only makes distributed guessing slow.
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/schema.ts';

export class UserFailureThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly config: Config['rateLimits'],
    audit: Audit,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = audit.subscribe((r) => {
      if (r.type === 'auth.failed' && r.user && r.reason !== 'too-many-attempts' && r.protocol !== 'cli') this.record(r.user);
    });
  }

  private recent(user: string): number[] {
    const cutoff = this.now() - this.config.userFailureWindowMinutes * 60_000;
    const list = (this.failures.get(user) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(user);
    else this.failures.set(user, list);
    return list;
  }

  record(user: string): void {
    const list = this.recent(user);
    list.push(this.now());
    this.failures.set(user, list);
  }

  /** The wait before the next attempt for this user name, ms. */
  delayFor(user: string): number {
    const over = this.recent(user).length - this.config.userFailuresBeforeDelay;
    if (over < 0) return 0;
    return Math.min(250 * 2 ** over, this.config.userMaxDelayMs);
  }

  async wait(user: string): Promise<void> {
    const ms = this.delayFor(user);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  close(): void {
    this.unsubscribe();
  }
}
