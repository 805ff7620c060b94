// MFA state: TOTP secrets (sealed), recovery codes (keyed hashes, single use), accepted codes
// (replay protection), failures and lockouts. In the store so every node shares it.
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface TotpRecord {
  secret: string;
  status: 'pending' | 'active';
  createdAt: string;
  confirmedAt: string | null;
}

export class MfaRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async totp(userId: number): Promise<TotpRecord | undefined> {
    const r = await this.db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return r && { secret: r.secret, status: r.status, createdAt: r.created_at, confirmedAt: r.confirmed_at };
  }

  async setPending(userId: number, secret: string): Promise<void> {
    await this.db.deleteFrom('mfa_totp').where('user_id', '=', userId).execute();
    await this.db.insertInto('mfa_totp').values({ user_id: userId, secret, status: 'pending', created_at: new Date().toISOString(), confirmed_at: null }).execute();
  }

  async activate(userId: number): Promise<void> {
    await this.db.updateTable('mfa_totp').set({ status: 'active', confirmed_at: new Date().toISOString() }).where('user_id', '=', userId).execute();
  }

  async disable(userId: number): Promise<void> {
    await this.db.deleteFrom('mfa_totp').where('user_id', '=', userId).execute();
    await this.db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
    await this.db.deleteFrom('mfa_used_codes').where('user_id', '=', userId).execute();
  }

  async replaceRecoveryCodes(userId: number, macs: string[]): Promise<void> {
    await this.db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
    const now = new Date().toISOString();
    await this.db
      .insertInto('mfa_recovery_codes')
      .values(macs.map((code_mac) => ({ user_id: userId, code_mac, created_at: now, used_at: null })))
      .execute();
  }

  async unusedRecoveryCodes(userId: number): Promise<number> {
    const r = await this.db.selectFrom('mfa_recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Marks a recovery code used; true only the first time (single use, race-free). */
  async consumeRecoveryCode(userId: number, mac: string): Promise<boolean> {
    const res = await this.db.updateTable('mfa_recovery_codes').set({ used_at: new Date().toISOString() }).where('user_id', '=', userId).where('code_mac', '=', mac).where('used_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Addresses that used this code while it is still valid. */
  async usedCodeAddresses(userId: number, mac: string, now: Date): Promise<string[]> {
    const rows = await this.db.selectFrom('mfa_used_codes').select('address').where('user_id', '=', userId).where('code_mac', '=', mac).where('expires_at', '>', now.toISOString()).execute();
    return rows.map((r) => r.address);
  }

  async rememberCode(userId: number, mac: string, address: string, expiresAt: Date): Promise<void> {
    await this.db.deleteFrom('mfa_used_codes').where('expires_at', '<=', new Date().toISOString()).execute();
    await this.db.insertInto('mfa_used_codes').values({ user_id: userId, code_mac: mac, address, expires_at: expiresAt.toISOString() }).execute();
  }

  async lockedUntil(userId: number, now: Date): Promise<string | null> {
    const r = await this.db.selectFrom('mfa_lockouts').select('until').where('user_id', '=', userId).executeTakeFirst();
    return r && r.until > now.toISOString() ? r.until : null;
  }

  /** Records a wrong code; returns the failures within the window (this one included). */
  async recordFailure(userId: number, now: Date, windowMs: number): Promise<number> {
    await this.db.insertInto('mfa_failures').values({ user_id: userId, at: now.toISOString() }).execute();
    await this.db.deleteFrom('mfa_failures').where('user_id', '=', userId).where('at', '<=', new Date(now.getTime() - windowMs).toISOString()).execute();
    const r = await this.db.selectFrom('mfa_failures').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async lock(userId: number, until: Date): Promise<void> {
    await this.db.deleteFrom('mfa_lockouts').where('user_id', '=', userId).execute();
    await this.db.insertInto('mfa_lockouts').values({ user_id: userId, until: until.toISOString() }).execute();
    await this.db.deleteFrom('mfa_failures').where('user_id', '=', userId).execute();
  }

  async unlock(userId: number): Promise<void> {
    await this.db.deleteFrom('mfa_lockouts').where('user_id', '=', userId).execute();
    await this.db.deleteFrom('mfa_failures').where('user_id', '=', userId).execute();
  }
}
