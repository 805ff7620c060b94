// API tokens (see admin/token-service.ts): looked up by their public id; the secret part is
// only ever compared as a keyed hash.
import type { Kysely, Selectable } from 'kysely';
import { PortcullisError } from '../errors/index.ts';
import type { ApiTokensTable, Database } from './schema.ts';

export interface StoredToken {
  id: string;
  name: string;
  mac: string;
  scopes: string[];
  /** CIDRs the token may be used from (empty: any). */
  sources: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const list = (v: string) => (v ? v.split(',') : []);

function toToken(r: Selectable<ApiTokensTable>): StoredToken {
  return {
    id: r.token_id,
    name: r.name,
    mac: r.mac,
    scopes: list(r.scopes),
    sources: list(r.sources),
    createdAt: r.created_at,
    createdBy: r.created_by,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}

export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(t: Omit<StoredToken, 'revokedAt' | 'lastUsedAt'>): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({ token_id: t.id, name: t.name, mac: t.mac, scopes: t.scopes.join(','), sources: t.sources.join(','), created_at: t.createdAt, created_by: t.createdBy, expires_at: t.expiresAt, revoked_at: null, last_used_at: null })
      .execute();
  }

  async byId(id: string): Promise<StoredToken | undefined> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('token_id', '=', id).executeTakeFirst();
    return row ? toToken(row) : undefined;
  }

  async list(): Promise<StoredToken[]> {
    return (await this.db.selectFrom('api_tokens').selectAll().orderBy('id').execute()).map(toToken);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Revokes the active token with this name or id; returns it. */
  async revoke(nameOrId: string, now: Date): Promise<StoredToken> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where((eb) => eb.or([eb('name', '=', nameOrId), eb('token_id', '=', nameOrId)]))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new PortcullisError('ERR_TOKEN_NOT_FOUND', nameOrId.slice(0, 80));
    await this.db.updateTable('api_tokens').set({ revoked_at: now.toISOString() }).where('id', '=', row.id).execute();
    return { ...toToken(row), revokedAt: now.toISOString() };
  }

  async touch(id: string, now: Date): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: now.toISOString() }).where('token_id', '=', id).execute();
  }
}
