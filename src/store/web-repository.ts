// The web plane's state (docs/web.md): operators' accounts, and browser sessions of the admin
// and portal planes. Sessions live here, not in a node's memory, so every node of a cluster
// recognises them; only a SHA-256 of each session id is stored.
import type { Kysely, Selectable } from 'kysely';
import type { AdminsTable, Database, WebSessionsTable } from './schema.ts';

export type AdminRole = 'full' | 'auditor';
export const ADMIN_ROLES: readonly AdminRole[] = ['full', 'auditor'];

export interface AdminAccount {
  id: number;
  name: string;
  passwordHash: string;
  role: AdminRole;
  /** Sealed by the MFA key (SecretBox), bound to the account's name. */
  totpSecret: string;
  totpLastStep: number;
  failures: number;
  lockedUntil: string | null;
  disabled: boolean;
  createdAt: string;
  createdBy: string;
}

const toAdmin = (r: Selectable<AdminsTable>): AdminAccount => ({
  id: Number(r.id),
  name: r.name,
  passwordHash: r.password_hash,
  role: r.role === 'full' ? 'full' : 'auditor',
  totpSecret: r.totp_secret,
  totpLastStep: Number(r.totp_last_step),
  failures: Number(r.failures),
  lockedUntil: r.locked_until,
  disabled: Number(r.disabled) === 1,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

export class AdminRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async count(): Promise<number> {
    const r = await this.db.selectFrom('admins').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async list(): Promise<AdminAccount[]> {
    return (await this.db.selectFrom('admins').selectAll().orderBy('name').execute()).map(toAdmin);
  }

  async byName(name: string): Promise<AdminAccount | undefined> {
    const r = await this.db.selectFrom('admins').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toAdmin(r);
  }

  /** false when the name is taken (the unique index decides, not a read before the write). */
  async add(a: { name: string; passwordHash: string; role: AdminRole; totpSecret: string; createdBy: string }): Promise<boolean> {
    const res = await this.db
      .insertInto('admins')
      .values({ name: a.name, password_hash: a.passwordHash, role: a.role, totp_secret: a.totpSecret, locked_until: null, created_at: new Date().toISOString(), created_by: a.createdBy })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /**
   * Records a used TOTP step; true only if it is newer than every step used before, in one
   * conditional update (two logins racing with the same code cannot both pass).
   */
  async useStep(id: number, step: number): Promise<boolean> {
    const res = await this.db.updateTable('admins').set({ totp_last_step: step }).where('id', '=', id).where('totp_last_step', '<', step).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Counts a failure; returns the new count. */
  async recordFailure(id: number): Promise<number> {
    await this.db
      .updateTable('admins')
      .set((eb) => ({ failures: eb('failures', '+', 1) }))
      .where('id', '=', id)
      .execute();
    return (await this.db.selectFrom('admins').select('failures').where('id', '=', id).executeTakeFirstOrThrow()).failures;
  }

  async lock(id: number, until: Date): Promise<void> {
    await this.db.updateTable('admins').set({ locked_until: until.toISOString(), failures: 0 }).where('id', '=', id).execute();
  }

  async clearFailures(id: number): Promise<void> {
    await this.db.updateTable('admins').set({ failures: 0 }).where('id', '=', id).execute();
  }

  async setDisabled(name: string, disabled: boolean): Promise<boolean> {
    const res = await this.db.updateTable('admins').set({ disabled: disabled ? 1 : 0 }).where('name', '=', name).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

export type WebPlane = 'admin' | 'portal';
/** `password`: the first factor passed, the code not yet; `enrol`: a portal user redeeming an
 * invitation; `full`: signed in. */
export type WebStage = 'password' | 'enrol' | 'full';

export interface WebSessionRecord {
  idHash: string;
  plane: WebPlane;
  subject: string;
  stage: WebStage;
  csrf: string;
  address: string;
  createdAt: number;
  lastSeenAt: number;
  reauthAt: number;
}

const toSession = (r: Selectable<WebSessionsTable>): WebSessionRecord => ({
  idHash: r.id_hash,
  plane: r.plane === 'admin' ? 'admin' : 'portal',
  subject: r.subject,
  stage: r.stage === 'full' ? 'full' : r.stage === 'enrol' ? 'enrol' : 'password',
  csrf: r.csrf,
  address: r.address,
  createdAt: Number(r.created_at),
  lastSeenAt: Number(r.last_seen_at),
  reauthAt: Number(r.reauth_at),
});

export class WebSessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(s: WebSessionRecord): Promise<void> {
    await this.db
      .insertInto('web_sessions')
      .values({ id_hash: s.idHash, plane: s.plane, subject: s.subject, stage: s.stage, csrf: s.csrf, address: s.address, created_at: s.createdAt, last_seen_at: s.lastSeenAt, reauth_at: s.reauthAt })
      .execute();
  }

  async get(idHash: string): Promise<WebSessionRecord | undefined> {
    const r = await this.db.selectFrom('web_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return r && toSession(r);
  }

  async touch(idHash: string, now: number): Promise<void> {
    await this.db.updateTable('web_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }

  async setReauth(idHash: string, now: number): Promise<void> {
    await this.db.updateTable('web_sessions').set({ reauth_at: now }).where('id_hash', '=', idHash).execute();
  }

  async remove(idHash: string): Promise<void> {
    await this.db.deleteFrom('web_sessions').where('id_hash', '=', idHash).execute();
  }

  /** Ends every session of one subject (a disabled admin, a user whose password changed). */
  async removeSubject(plane: WebPlane, subject: string): Promise<void> {
    await this.db.deleteFrom('web_sessions').where('plane', '=', plane).where('subject', '=', subject).execute();
  }

  async removeExpired(idleBefore: number, createdBefore: number): Promise<void> {
    await this.db
      .deleteFrom('web_sessions')
      .where((eb) => eb.or([eb('last_seen_at', '<', idleBefore), eb('created_at', '<', createdBefore)]))
      .execute();
  }
}
