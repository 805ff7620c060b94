import type { Kysely } from 'kysely';
import type { AuditRecord } from '../audit/events.ts';
import type { Database } from './schema.ts';

export interface AuditQuery {
  user?: string;
  remoteAddress?: string;
  /** Event name prefix, e.g. `auth.` or `file.upload`. */
  eventPrefix?: string;
  since?: string;
  limit?: number;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db
      .insertInto('audit_events')
      .values(
        records.map((r) => ({
          ts: r.ts,
          event: r.event,
          user_name: r.user ?? null,
          remote_address: r.remoteAddress ?? null,
          protocol: r.protocol ?? null,
          connection_id: r.connectionId ?? null,
          record: JSON.stringify(r),
        })),
      )
      .execute();
  }

  async search(q: AuditQuery = {}): Promise<AuditRecord[]> {
    let query = this.db.selectFrom('audit_events').select('record').orderBy('id', 'desc').limit(q.limit ?? 1000);
    if (q.user) query = query.where('user_name', '=', q.user);
    if (q.remoteAddress) query = query.where('remote_address', '=', q.remoteAddress);
    if (q.eventPrefix) query = query.where('event', 'like', `${q.eventPrefix.replace(/[%_\\]/g, '\\$&')}%`);
    if (q.since) query = query.where('ts', '>=', q.since);
    const rows = await query.execute();
    return rows.map((r) => JSON.parse(r.record) as AuditRecord).reverse();
  }
}
