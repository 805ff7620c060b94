// Global allow/deny rules and bans. Rules from the config file are listed beside the store's
// (read-only here); bans go through the defender so that a running server refuses the address
// at once (the API, in-process) or within access.refreshSeconds (the CLI, via the store).
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/schema.ts';
import { PortcullisError } from '../errors/index.ts';
import type { Defender } from '../policy/defender.ts';
import { parseCidr } from '../policy/ip-matcher.ts';
import { formatNftBans } from '../policy/nft-export.ts';
import type { Ban } from '../store/policy-repository.ts';
import type { Store } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { recordChange } from './record-change.ts';

export const RULE_PROTOCOLS = ['sftp', 'ftps', 'admin', 'portal'] as const;
export type RuleProtocol = (typeof RULE_PROTOCOLS)[number];
export type RuleKind = 'allow' | 'deny';

export interface RuleView {
  kind: RuleKind;
  cidr: string;
  protocols: string[];
  source: 'config' | 'store';
  comment: string;
}

export interface BanView {
  address: string;
  reason: string;
  source: string;
  createdAt: string;
  expiresAt: string;
}

const banView = (b: Ban): BanView => ({ address: b.address, reason: b.reason, source: b.source, createdAt: b.createdAt, expiresAt: b.expiresAt });

/** Most minutes of one ban set by hand (a year). */
export const MAX_BAN_MINUTES = 525_600;

export class PolicyService {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly config: Config,
    /** The running server's defender (API), or one over the store alone (CLI). */
    private readonly defender: Pick<Defender, 'ban' | 'lift'>,
  ) {}

  async listRules(kind: RuleKind): Promise<RuleView[]> {
    const fromConfig = this.config.access[kind].map((e) => (typeof e === 'string' ? { cidr: e, protocols: [] as string[], comment: '' } : { cidr: e.cidr, protocols: e.protocols ?? [], comment: e.comment ?? '' }));
    return [
      ...fromConfig.map((r) => ({ kind, ...r, source: 'config' as const })),
      ...(await this.store.policy.listRules(kind)).map((r) => ({ kind, cidr: r.cidr, protocols: r.protocols, source: 'store' as const, comment: r.comment })),
    ];
  }

  async addRule(actor: Actor, kind: RuleKind, cidr: string, protocols: readonly string[], comment = ''): Promise<RuleView> {
    const parsed = parseCidr(cidr);
    for (const p of protocols) if (!(RULE_PROTOCOLS as readonly string[]).includes(p)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `unknown protocol "${p}" (use ${RULE_PROTOCOLS.join(', ')})`);
    const rule = { kind, cidr: parsed.text, protocols: [...new Set(protocols)], source: 'store' as const, comment: comment.slice(0, 200) };
    await this.store.policy.addRule(kind, rule.cidr, rule.protocols, rule.comment);
    recordChange(this.audit, actor, 'rule', 'added', `${kind} ${rule.cidr}`, { after: { ...rule } });
    return rule;
  }

  /** Returns the rule's canonical CIDR. */
  async removeRule(actor: Actor, kind: RuleKind, cidr: string): Promise<string> {
    const parsed = parseCidr(cidr);
    const before = (await this.store.policy.listRules(kind)).filter((r) => r.cidr === parsed.text);
    await this.store.policy.removeRule(kind, parsed.text);
    recordChange(this.audit, actor, 'rule', 'removed', `${kind} ${parsed.text}`, { before: { kind, cidr: parsed.text, protocols: before.map((r) => r.protocols.join(',') || 'all') } });
    return parsed.text;
  }

  async listBans(): Promise<BanView[]> {
    return (await this.store.policy.activeBans()).map(banView);
  }

  /** Bans one address (not a range: use a deny rule) for `minutes` or the defender's duration. */
  async addBan(actor: Actor, address: string, options: { minutes?: number | undefined; reason?: string | undefined } = {}): Promise<BanView> {
    const parsed = parseCidr(address);
    if (!/\/(32|128)$/.test(parsed.text)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', 'ban one address; use a deny rule for ranges');
    const { minutes } = options;
    if (minutes !== undefined && !(Number.isInteger(minutes) && minutes > 0 && minutes <= MAX_BAN_MINUTES)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `minutes must be a whole number from 1 to ${MAX_BAN_MINUTES}`);
    const reason = (options.reason ?? 'banned by an operator').slice(0, 200);
    const ban = await this.defender.ban(parsed.address, reason, actor.kind === 'cli' ? 'cli' : 'admin', minutes);
    const view = banView(ban);
    recordChange(this.audit, actor, 'ban', 'added', parsed.address, { after: { ...view } });
    return view;
  }

  async liftBan(actor: Actor, address: string): Promise<void> {
    const parsed = parseCidr(address);
    if ((await this.defender.lift(parsed.address)) === 0) throw new PortcullisError('ERR_POLICY_NOT_BANNED', parsed.address);
    recordChange(this.audit, actor, 'ban', 'lifted', parsed.address);
  }

  /** The active bans as an nftables set (`nft -f`). */
  async exportBans(format: 'nft'): Promise<string> {
    if (format !== 'nft') throw new PortcullisError('ERR_POLICY_INVALID_RULE', `unknown export format "${String(format)}" (use nft)`);
    return formatNftBans(await this.store.policy.activeBans());
  }
}
