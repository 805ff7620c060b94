// One-time enrolment invitations: a keyed hash of each token, its expiry and when it was used.
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface InvitationRecord {
  id: number;
  userId: number;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
}

export class InvitationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(userId: number, tokenMac: string, expiresAt: Date): Promise<void> {
    await this.db.insertInto('invitations').values({ user_id: userId, token_mac: tokenMac, created_at: new Date().toISOString(), expires_at: expiresAt.toISOString(), used_at: null }).execute();
  }

  async find(tokenMac: string): Promise<InvitationRecord | undefined> {
    const r = await this.db.selectFrom('invitations').selectAll().where('token_mac', '=', tokenMac).executeTakeFirst();
    return r && { id: Number(r.id), userId: Number(r.user_id), createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at };
  }

  /** Marks the invitation used; true only the first time and only before it expires (race-free). */
  async consume(id: number, now: Date): Promise<boolean> {
    const res = await this.db.updateTable('invitations').set({ used_at: now.toISOString() }).where('id', '=', id).where('used_at', 'is', null).where('expires_at', '>', now.toISOString()).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Withdraws a user's unused invitations (a new one replaces them). */
  async revokeOpen(userId: number, now: Date): Promise<void> {
    await this.db.updateTable('invitations').set({ expires_at: now.toISOString() }).where('user_id', '=', userId).where('used_at', 'is', null).where('expires_at', '>', now.toISOString()).execute();
  }
}
