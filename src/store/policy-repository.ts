// Access-policy state shared by every node: global allow/deny rules, bans (with history), and
// a version counter that running servers poll to pick up changes made from the CLI.
import { type Kysely, sql } from 'kysely';
import { PortcullisError } from '../errors/index.ts';
import type { Database } from './schema.ts';

export interface IpRule {
  id: number;
  kind: 'allow' | 'deny';
  cidr: string;
  /** Empty: every protocol. */
  protocols: string[];
  comment: string;
  createdAt: string;
}

export interface Ban {
  id: number;
  address: string;
  reason: string;
  source: 'defender' | 'cli' | 'admin';
  createdAt: string;
  expiresAt: string;
}

export class PolicyRepository {
  /** Told after every change of rules or bans (a cluster publishes it: src/cluster/cluster-link.ts). */
  private readonly changeListeners: (() => void)[] = [];

  constructor(private readonly db: Kysely<Database>) {}

  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  async version(): Promise<number> {
    const row = await this.db.selectFrom('policy_state').select('version').where('name', '=', 'access').executeTakeFirst();
    return Number(row?.version ?? 0);
  }

  private async bump(): Promise<void> {
    await this.db
      .updateTable('policy_state')
      .set({ version: sql`version + 1` })
      .where('name', '=', 'access')
      .execute();
    for (const l of this.changeListeners) l();
  }

  async listRules(kind?: 'allow' | 'deny'): Promise<IpRule[]> {
    let q = this.db.selectFrom('ip_rules').selectAll().orderBy('id');
    if (kind) q = q.where('kind', '=', kind);
    return (await q.execute()).map((r) => ({ id: Number(r.id), kind: r.kind, cidr: r.cidr, protocols: r.protocols ? r.protocols.split(',') : [], comment: r.comment, createdAt: r.created_at }));
  }

  async addRule(kind: 'allow' | 'deny', cidr: string, protocols: string[], comment: string): Promise<void> {
    const exists = await this.db.selectFrom('ip_rules').select('id').where('kind', '=', kind).where('cidr', '=', cidr).where('protocols', '=', protocols.join(',')).executeTakeFirst();
    if (exists) throw new PortcullisError('ERR_POLICY_RULE_EXISTS', `${kind} ${cidr}`);
    await this.db.insertInto('ip_rules').values({ kind, cidr, protocols: protocols.join(','), comment, created_at: new Date().toISOString() }).execute();
    await this.bump();
  }

  async removeRule(kind: 'allow' | 'deny', cidr: string): Promise<number> {
    const res = await this.db.deleteFrom('ip_rules').where('kind', '=', kind).where('cidr', '=', cidr).executeTakeFirst();
    const n = Number(res.numDeletedRows);
    if (n === 0) throw new PortcullisError('ERR_POLICY_RULE_NOT_FOUND', `${kind} ${cidr}`);
    await this.bump();
    return n;
  }

  async activeBans(now = new Date()): Promise<Ban[]> {
    const rows = await this.db.selectFrom('bans').selectAll().where('expires_at', '>', now.toISOString()).where('lifted_at', 'is', null).orderBy('id').execute();
    return rows.map((r) => ({ id: Number(r.id), address: r.address, reason: r.reason, source: r.source as Ban['source'], createdAt: r.created_at, expiresAt: r.expires_at }));
  }

  /** Bans of this address that started after `since` (repeat offenders get longer bans). */
  async banCountSince(address: string, since: Date): Promise<number> {
    const row = await this.db.selectFrom('bans').select((eb) => eb.fn.countAll<number>().as('n')).where('address', '=', address).where('created_at', '>=', since.toISOString()).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async addBan(ban: Omit<Ban, 'id' | 'createdAt'>, now = new Date()): Promise<void> {
    await this.db.insertInto('bans').values({ address: ban.address, reason: ban.reason, source: ban.source, created_at: now.toISOString(), expires_at: ban.expiresAt, lifted_at: null }).execute();
    await this.bump();
  }

  /** Lifts the active bans of an address; returns how many were lifted. */
  async liftBans(address: string, now = new Date()): Promise<number> {
    const res = await this.db.updateTable('bans').set({ lifted_at: now.toISOString() }).where('address', '=', address).where('lifted_at', 'is', null).where('expires_at', '>', now.toISOString()).executeTakeFirst();
    const n = Number(res.numUpdatedRows);
    if (n > 0) await this.bump();
    return n;
  }
}
