import type { Kysely } from 'kysely';
import { PortcullisError } from '../errors/index.ts';
import type { Database } from './schema.ts';

export interface StoredKey {
  id: number;
  algorithm: string;
  fingerprint: string;
  publicKey: string;
  comment: string;
  createdAt: string;
}

export class KeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(userId: number, key: Omit<StoredKey, 'id' | 'createdAt'>): Promise<StoredKey> {
    const existing = await this.db.selectFrom('user_keys').select('id').where('user_id', '=', userId).where('fingerprint', '=', key.fingerprint).executeTakeFirst();
    if (existing) throw new PortcullisError('ERR_KEY_EXISTS', key.fingerprint);
    const row = await this.db
      .insertInto('user_keys')
      .values({ user_id: userId, algorithm: key.algorithm, fingerprint: key.fingerprint, public_key: key.publicKey, comment: key.comment, created_at: new Date().toISOString() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), algorithm: row.algorithm, fingerprint: row.fingerprint, publicKey: row.public_key, comment: row.comment, createdAt: row.created_at };
  }

  async list(userId: number): Promise<StoredKey[]> {
    const rows = await this.db.selectFrom('user_keys').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    return rows.map((row) => ({ id: Number(row.id), algorithm: row.algorithm, fingerprint: row.fingerprint, publicKey: row.public_key, comment: row.comment, createdAt: row.created_at }));
  }

  /** Removes a key by fingerprint (or by its 1-based position in `list`). */
  async remove(userId: number, which: string): Promise<StoredKey> {
    const keys = await this.list(userId);
    const key = /^\d+$/.test(which) ? keys[Number(which) - 1] : keys.find((k) => k.fingerprint === which || k.fingerprint === `SHA256:${which}`);
    if (!key) throw new PortcullisError('ERR_KEY_NOT_FOUND', which);
    await this.db.deleteFrom('user_keys').where('id', '=', key.id).execute();
    return key;
  }
}
