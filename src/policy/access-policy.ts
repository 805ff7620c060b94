// The access policy, wired into the core: admission rules (deny list, allow-list mode, bans,
// connection rate) checked when a socket is accepted, and login guards (per-user CIDRs with
// deny winning, access hours) checked when authentication completes. Rules from
// the config and the store are compiled once and swapped whole when the store's policy version
// changes (CLI edits, other nodes).
import { BurstyRateLimiter, RateLimiterMemory } from 'rate-limiter-flexible';
import type { SharedPolicy } from '../cluster/shared-policy.ts';
import type { Audit } from '../audit/audit.ts';
import type { LoginGuard } from '../auth/auth-flow.ts';
import type { Config } from '../config/schema.ts';
import type { AdmissionRule } from '../net/admission.ts';
import type { Store } from '../store/store.ts';
import { withinAccessHours } from './access-hours.ts';
import { addressKeyer, type AddressKeyFn } from './address-key.ts';
import { Defender } from './defender.ts';
import { addressInAny, type AddressRule, IpMatcher } from './ip-matcher.ts';
import { UserFailureThrottle } from './user-failure-throttle.ts';

type Entry = Config['access']['allow'][number];

function toRule(entry: Entry, source: string): AddressRule {
  return typeof entry === 'string' ? { cidr: entry, source } : { cidr: entry.cidr, protocols: entry.protocols ?? [], source };
}

export class AccessPolicy {
  readonly defender: Defender;
  readonly throttle: UserFailureThrottle;
  private allow: IpMatcher;
  private deny: IpMatcher;
  private version = -1;
  /** The counting key of an address (an IPv6 prefix per access.ipv6Prefix). */
  readonly key: AddressKeyFn;
  private readonly connectionRate: Pick<RateLimiterMemory, 'consume'> | null;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    audit: Audit,
    /** Several nodes or workers: connection rates counted by all of them (src/cluster/shared-policy.ts). */
    shared: Pick<SharedPolicy, 'rateLimiter'> | null = null,
  ) {
    this.key = addressKeyer(config.access.ipv6Prefix);
    this.defender = new Defender(config.defender, store.policy, audit, Date.now, this.key);
    this.throttle = new UserFailureThrottle(config.rateLimits, audit, Date.now, this.key);
    this.allow = new IpMatcher(config.access.allow.map((e, i) => toRule(e, `config access.allow[${i}]`)));
    this.deny = new IpMatcher(config.access.deny.map((e, i) => toRule(e, `config access.deny[${i}]`)));
    // A token bucket in two parts: a steady rate per second, and a burst allowance per 10 s
    // that real clients use when they open several connections at once.
    const { connectionsPerSecond: perSecond, connectionBurst: burst } = config.rateLimits;
    // SECURITY: with several nodes or workers the counts are all of theirs (Redis, or the
    // primary), so an address gets one allowance, not one per process it lands on.
    const limiter = (points: number, duration: number, name: string) => (shared ? shared.rateLimiter(points, duration, name) : new RateLimiterMemory({ points, duration }));
    const steady = perSecond > 0 ? limiter(perSecond, 1, 'steady') : null;
    this.connectionRate = steady && burst > 0 ? new BurstyRateLimiter(steady as RateLimiterMemory, limiter(burst, 10, 'burst') as RateLimiterMemory) : steady;
  }

  /** Loads store rules and bans, then keeps polling for changes. */
  async start(): Promise<void> {
    await this.refresh(true);
    this.timer = setInterval(() => {
      this.refreshing ??= this.refresh(false)
        .catch(() => undefined)
        .finally(() => (this.refreshing = null));
    }, this.config.access.refreshSeconds * 1000);
    this.timer.unref();
  }

  /** Re-reads rules and bans if the store's policy version moved (or always with `force`). */
  async refresh(force: boolean): Promise<void> {
    const version = await this.store.policy.version();
    if (!force && version === this.version) {
      for (const b of this.defender.activeBans) this.defender.banOf(b.address); // drops expired ones
      return;
    }
    const rules = await this.store.policy.listRules();
    const fromStore = (kind: 'allow' | 'deny') => rules.filter((r) => r.kind === kind).map((r) => ({ cidr: r.cidr, protocols: r.protocols, source: `cli ${kind} ${r.cidr}` }));
    // Compile both first, then swap: a bad rule leaves the old matchers in place.
    const allow = new IpMatcher([...this.config.access.allow.map((e, i) => toRule(e, `config access.allow[${i}]`)), ...fromStore('allow')]);
    const deny = new IpMatcher([...this.config.access.deny.map((e, i) => toRule(e, `config access.deny[${i}]`)), ...fromStore('deny')]);
    await this.defender.reload();
    this.allow = allow;
    this.deny = deny;
    this.version = version;
  }

  /** Deny list, allow-list mode, bans (in that order): what every admin API request is checked
   * against (the request rate is not: one connection carries many requests). */
  readonly addressRule: AdmissionRule = ({ address, protocol }) => {
    const denied = this.deny.match(address, protocol);
    if (denied) return { code: 'ERR_ADMISSION_DENIED', rule: `deny ${denied.source ?? denied.cidr}` };
    if (this.config.access.allowListMode && !this.allow.match(address, protocol)) return { code: 'ERR_ADMISSION_DENIED', rule: 'access.allowListMode (not on the allow list)' };
    const ban = this.defender.banOf(address);
    if (ban) return { code: 'ERR_ADMISSION_BANNED', rule: `ban until ${ban.expiresAt}: ${ban.reason}` };
    return null;
  };

  /** Admission rule: deny list, allow-list mode, bans, connection rate (in that order). */
  readonly admissionRule: AdmissionRule = async (peer) => {
    const { address } = peer;
    const refused = this.addressRule(peer);
    if (refused) return refused;
    if (this.connectionRate && !this.defender.isSafe(address)) {
      try {
        await this.connectionRate.consume(this.key(address));
      } catch {
        const { connectionsPerSecond, connectionBurst } = this.config.rateLimits;
        return { code: 'ERR_ADMISSION_RATE_LIMITED', rule: `rateLimits.connectionsPerSecond (${connectionsPerSecond}, burst ${connectionBurst} per 10 s)` };
      }
    }
    return null;
  };

  /** Login guard: what needs the user's name. Deny wins over allow (unlike SFTPGo). Session
   * caps are not checked here but where a session is opened (Core.openSession): a check at
   * login would count connections, not the channels opened on them, and race. */
  readonly loginGuard: LoginGuard = (user, ctx) => {
    if (addressInAny(ctx.remoteAddress, user.deniedCidrs)) return { code: 'ERR_AUTH_ADDRESS_NOT_ALLOWED', reason: 'address-not-allowed' };
    if (user.allowedCidrs.length > 0 && !addressInAny(ctx.remoteAddress, user.allowedCidrs)) return { code: 'ERR_AUTH_ADDRESS_NOT_ALLOWED', reason: 'address-not-allowed' };
    if (user.accessHours && !withinAccessHours(user.accessHours, new Date())) return { code: 'ERR_AUTH_OUTSIDE_HOURS', reason: 'outside-hours' };
    return null;
  };

  close(): void {
    clearInterval(this.timer);
    this.defender.close();
    this.throttle.close();
  }
}
