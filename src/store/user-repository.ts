import type { Kysely, Selectable } from 'kysely';
import { PortcullisError } from '../errors/index.ts';
import { parsePermissions, type Permission } from '../session/permissions.ts';
import type { Database, UsersTable } from './schema.ts';

export interface User {
  id: number;
  name: string;
  passwordHash: string | null;
  home: string;
  permissions: Permission[];
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  /** Addresses/CIDRs the user may log in from (empty: any). */
  allowedCidrs: string[];
  /** Addresses/CIDRs the user may never log in from (wins over allowed). */
  deniedCidrs: string[];
  /** Access window such as "mon-fri 08:00-18:00" (empty: any time). */
  accessHours: string;
  /** Simultaneous sessions for this user (0: only the global limits). */
  maxSessions: number;
  /** Per-user MFA override: null follows mfa.required. */
  mfaRequired: boolean | null;
  /** SHA-256 fingerprints of TLS client certificates pinned to the user (FTPS). */
  clientCertPins: string[];
}

export interface NewUser {
  name: string;
  passwordHash: string | null;
  home: string;
  permissions: readonly Permission[];
}

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: Number(row.id),
    name: row.name,
    passwordHash: row.password_hash,
    home: row.home,
    permissions: parsePermissions(row.permissions),
    disabled: Number(row.disabled) !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    allowedCidrs: splitList(row.allowed_cidrs),
    deniedCidrs: splitList(row.denied_cidrs),
    accessHours: row.access_hours ?? '',
    maxSessions: Number(row.max_sessions ?? 0),
    mfaRequired: row.mfa_required === null || row.mfa_required === undefined ? null : Number(row.mfa_required) !== 0,
    clientCertPins: splitList(row.client_cert_pins),
  };
}

function splitList(v: string | null | undefined): string[] {
  return (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
}

export class UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(user: NewUser): Promise<User> {
    if (await this.get(user.name)) throw new PortcullisError('ERR_USER_EXISTS', user.name);
    const now = new Date().toISOString();
    const row = await this.db
      .insertInto('users')
      .values({ name: user.name, password_hash: user.passwordHash, home: user.home, permissions: JSON.stringify(user.permissions), disabled: 0, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toUser(row);
  }

  async get(name: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async require(name: string): Promise<User> {
    const user = await this.get(name);
    if (!user) throw new PortcullisError('ERR_USER_NOT_FOUND', name);
    return user;
  }

  async list(): Promise<User[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
  }

  async remove(name: string): Promise<void> {
    const res = await this.db.deleteFrom('users').where('name', '=', name).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new PortcullisError('ERR_USER_NOT_FOUND', name);
  }

  async update(name: string, changes: Partial<Pick<User, 'passwordHash' | 'home' | 'permissions' | 'disabled' | 'allowedCidrs' | 'deniedCidrs' | 'accessHours' | 'maxSessions' | 'mfaRequired' | 'clientCertPins'>>): Promise<void> {
    const res = await this.db
      .updateTable('users')
      .set({
        ...(changes.passwordHash !== undefined && { password_hash: changes.passwordHash }),
        ...(changes.home !== undefined && { home: changes.home }),
        ...(changes.permissions !== undefined && { permissions: JSON.stringify(changes.permissions) }),
        ...(changes.disabled !== undefined && { disabled: changes.disabled ? 1 : 0 }),
        ...(changes.allowedCidrs !== undefined && { allowed_cidrs: changes.allowedCidrs.join(',') }),
        ...(changes.deniedCidrs !== undefined && { denied_cidrs: changes.deniedCidrs.join(',') }),
        ...(changes.accessHours !== undefined && { access_hours: changes.accessHours }),
        ...(changes.maxSessions !== undefined && { max_sessions: changes.maxSessions }),
        ...(changes.clientCertPins !== undefined && { client_cert_pins: changes.clientCertPins.join(',') }),
        ...(changes.mfaRequired !== undefined && { mfa_required: changes.mfaRequired === null ? null : changes.mfaRequired ? 1 : 0 }),
        updated_at: new Date().toISOString(),
      })
      .where('name', '=', name)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new PortcullisError('ERR_USER_NOT_FOUND', name);
  }
}
