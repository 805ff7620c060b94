import type { Kysely } from 'kysely';
import { type ChainedRecord, type ChainHead, encodeChainedLine, type IndexedColumns, indexedColumns, seal } from '../audit/chain.ts';
import type { AuditRecord } from '../audit/events.ts';
import type { Database } from './schema.ts';

export interface AuditQuery {
  user?: string;
  remoteAddress?: string;
  /** Event name prefix, e.g. `auth.` or `file.upload`. */
  eventPrefix?: string;
  /** Event name glob: `*` matches any run of characters (`file.*.failed`). */
  eventPattern?: string;
  since?: string;
  until?: string;
  limit?: number;
}

export interface LoginRow {
  ts: string;
  address: string | null;
  protocol: string | null;
  methods: string[];
  connectionId: string | null;
}

const CHAIN = 'main';
const escapeLike = (s: string) => s.replace(/[%_\\]/g, '\\$&');

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts records outside the chain (imports, tests). The trail's writer uses `append`. */
  async insert(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db
      .insertInto('audit_events')
      .values(records.map((r) => auditRow(r, JSON.stringify(r), null, null)))
      .execute();
  }

  /**
   * Appends records to the chain in one transaction: takes the head row's write lock first (so
   * the server and CLI processes, or several nodes, never fork the chain), seals the records
   * onto the head, inserts them, moves the head, and calls `beforeCommit` (the JSON-lines file
   * is written there, under the same lock, in the same order).
   */
  async append(records: readonly AuditRecord[], beforeCommit: (sealed: ChainedRecord[], head: ChainHead) => void): Promise<ChainedRecord[]> {
    if (records.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      await trx.updateTable('audit_chain').set({ updated_at: now }).where('name', '=', CHAIN).execute();
      const row = await trx.selectFrom('audit_chain').select(['seq', 'hash']).where('name', '=', CHAIN).executeTakeFirstOrThrow();
      const { sealed, head } = seal({ seq: Number(row.seq), hash: row.hash }, records);
      await trx
        .insertInto('audit_events')
        .values(
          sealed.map((r) => auditRow(r, encodeChainedLine(r).trimEnd(), r.seq, r.hash)),
        )
        .execute();
      await trx.updateTable('audit_chain').set({ seq: head.seq, hash: head.hash }).where('name', '=', CHAIN).execute();
      beforeCommit(sealed, head);
      return sealed;
    });
  }

  async head(): Promise<ChainHead> {
    const row = await this.db.selectFrom('audit_chain').select(['seq', 'hash']).where('name', '=', CHAIN).executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: '0'.repeat(64) };
  }

  /** Chained rows in order, a page at a time, with every column (for `audit verify`). */
  async chainPage(afterSeq: number, limit: number): Promise<StoredChainRow[]> {
    const rows = await this.db
      .selectFrom('audit_events')
      .select(['id', 'seq', 'hash', 'record', 'ts', 'event', 'user_name', 'remote_address', 'protocol', 'connection_id'])
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      seq: Number(r.seq),
      hash: r.hash ?? '',
      record: r.record,
      columns: { ts: r.ts, event: r.event, user_name: r.user_name, remote_address: r.remote_address, protocol: r.protocol, connection_id: r.connection_id },
    }));
  }

  /** Rows outside the chain (seq null): those older than the first chained row were written
   * before the chain existed (migration 0004); any later one was added behind the writer's back. */
  async unchainedRows(): Promise<{ before: number; after: number; firstAfterId: number | null }> {
    const first = await this.db.selectFrom('audit_events').select((eb) => eb.fn.min('id').as('id')).where('seq', 'is not', null).executeTakeFirst();
    const firstChained = first?.id == null ? Number.MAX_SAFE_INTEGER : Number(first.id);
    const count = async (side: '<' | '>') => {
      const r = await this.db
        .selectFrom('audit_events')
        .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('id').as('id')])
        .where('seq', 'is', null)
        .where('id', side, firstChained)
        .executeTakeFirst();
      return { n: Number(r?.n ?? 0), id: r?.id == null ? null : Number(r.id) };
    };
    const [before, after] = [await count('<'), await count('>')];
    return { before: before.n, after: after.n, firstAfterId: after.id };
  }

  /** Chained records after a sequence number (other processes' events, for alerts). */
  async after(seq: number, limit: number): Promise<ChainedRecord[]> {
    const rows = await this.chainPage(seq, limit);
    return rows.map((r) => JSON.parse(r.record) as ChainedRecord);
  }

  async search(q: AuditQuery = {}): Promise<AuditRecord[]> {
    let query = this.db.selectFrom('audit_events').select('record').orderBy('id', 'desc').limit(q.limit ?? 1000);
    if (q.user) query = query.where('user_name', '=', q.user);
    if (q.remoteAddress) query = query.where('remote_address', '=', q.remoteAddress);
    if (q.eventPrefix) query = query.where('event', 'like', `${escapeLike(q.eventPrefix)}%`);
    if (q.eventPattern) query = query.where('event', 'like', q.eventPattern.split('*').map(escapeLike).join('%'));
    if (q.since) query = query.where('ts', '>=', q.since);
    if (q.until) query = query.where('ts', '<', q.until);
    const rows = await query.execute();
    return rows.map((r) => JSON.parse(r.record) as AuditRecord).reverse();
  }

  /**
   * One page of matching records, newest first, for cursor pagination: records with a row id
   * below `beforeId` (null: from the newest). `next` is the id to continue from (null: no more).
   */
  async searchPage(q: Omit<AuditQuery, 'limit'>, beforeId: number | null, limit: number): Promise<{ records: AuditRecord[]; next: number | null }> {
    let query = this.db.selectFrom('audit_events').select(['id', 'record']).orderBy('id', 'desc').limit(limit + 1);
    if (beforeId !== null) query = query.where('id', '<', beforeId);
    if (q.user) query = query.where('user_name', '=', q.user);
    if (q.remoteAddress) query = query.where('remote_address', '=', q.remoteAddress);
    if (q.eventPrefix) query = query.where('event', 'like', `${escapeLike(q.eventPrefix)}%`);
    if (q.eventPattern) query = query.where('event', 'like', q.eventPattern.split('*').map(escapeLike).join('%'));
    if (q.since) query = query.where('ts', '>=', q.since);
    if (q.until) query = query.where('ts', '<', q.until);
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    return { records: page.map((r) => JSON.parse(r.record) as AuditRecord), next: rows.length > limit ? Number(page.at(-1)!.id) : null };
  }

  /** A user's recent successful logins, newest first. */
  async logins(user: string, limit: number): Promise<LoginRow[]> {
    const rows = await this.db.selectFrom('audit_events').select('record').where('user_name', '=', user).where('event', '=', 'auth.succeeded').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((row) => {
      const r = JSON.parse(row.record) as AuditRecord & { methods?: string[] };
      return { ts: r.ts, address: r.remoteAddress ?? null, protocol: r.protocol ?? null, methods: r.methods ?? [], connectionId: r.connectionId ?? null };
    });
  }

  /**
   * Records that a user logged in from an address; true when the address is new for a user who
   * had logged in before (the first login of a user is not "new").
   */
  async noteLoginAddress(user: string, address: string, at: string): Promise<{ isNew: boolean; firstLogin: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const known = await trx.selectFrom('login_addresses').select(['address']).where('user_name', '=', user).execute();
      if (known.some((k) => k.address === address)) {
        await trx.updateTable('login_addresses').set({ last_seen: at }).where('user_name', '=', user).where('address', '=', address).execute();
        return { isNew: false, firstLogin: false };
      }
      await trx.insertInto('login_addresses').values({ user_name: user, address, first_seen: at, last_seen: at }).execute();
      return { isNew: known.length > 0, firstLogin: known.length === 0 };
    });
  }
}

/** The indexed columns of an audit row (`indexedColumns`: the one mapping `verify` checks the
 * row against), plus the whole record as written. */
function auditRow(r: AuditRecord, record: string, seq: number | null, hash: string | null) {
  const c = indexedColumns(r);
  return { ...c, ts: c.ts ?? '', event: c.event ?? '', record, seq, hash };
}

/** A chained row as `audit verify` reads it: the record text and every column beside it. */
export interface StoredChainRow {
  id: number;
  seq: number;
  hash: string;
  record: string;
  columns: IndexedColumns;
}
