// Users: create, update (password, home, permissions, read-only, address rules, hours, session
// cap, MFA requirement, disabled), delete, SSH keys and pinned client certificates. The one
// place these rules live: the CLI and the REST API only translate into these calls. Every write
// is audited as `admin.user.<action>` with the actor and a before/after view without secrets.
import path from 'node:path';
import type { Audit } from '../audit/audit.ts';
import { parseFingerprint } from '../auth/mfa/client-certificates.ts';
import { hashPassword } from '../auth/passwords.ts';
import { parsePublicKey } from '../auth/public-keys.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import { parseAccessHours } from '../policy/access-hours.ts';
import { parseCidr } from '../policy/ip-matcher.ts';
import { ALL_PERMISSIONS, PERMISSIONS, READ_ONLY_PERMISSIONS, type Permission } from '../session/permissions.ts';
import type { StoredKey } from '../store/key-repository.ts';
import type { Store } from '../store/store.ts';
import type { User } from '../store/user-repository.ts';
import type { Actor } from './actor.ts';
import { recordChange } from './record-change.ts';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function assertValidUserName(name: string): void {
  if (name.length === 0 || name.length > LIMITS.maxUserNameLength || !NAME.test(name)) {
    throw new PortcullisError('ERR_USER_INVALID_NAME', `"${name.slice(0, 80)}": use 1-${LIMITS.maxUserNameLength} letters, digits, dot, dash or underscore, not starting with dot or dash`);
  }
}

/** What an admin may see of a user: never the password hash. */
export interface UserView {
  name: string;
  home: string;
  permissions: Permission[];
  readOnly: boolean;
  disabled: boolean;
  password: boolean;
  allowedCidrs: string[];
  deniedCidrs: string[];
  accessHours: string;
  maxSessions: number;
  mfaRequired: boolean | null;
  clientCertPins: string[];
  createdAt: string;
  updatedAt: string;
}

export function viewOf(u: User): UserView {
  return {
    name: u.name,
    home: u.home,
    permissions: u.permissions,
    readOnly: !u.permissions.some((p) => !READ_ONLY_PERMISSIONS.includes(p)),
    disabled: u.disabled,
    password: u.passwordHash !== null,
    allowedCidrs: u.allowedCidrs,
    deniedCidrs: u.deniedCidrs,
    accessHours: u.accessHours,
    maxSessions: u.maxSessions,
    mfaRequired: u.mfaRequired,
    clientCertPins: u.clientCertPins,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

export interface UserSummary {
  name: string;
  home: string;
  permissions: Permission[];
  disabled: boolean;
  password: boolean;
  keys: number;
  mfa: { required: boolean; enrolled: 'yes' | 'pending' | 'no'; lockedUntil: string | null };
  createdAt: string;
  updatedAt: string;
}

export interface KeyView {
  algorithm: string;
  fingerprint: string;
  comment: string;
  createdAt: string;
}

const keyView = (k: StoredKey): KeyView => ({ algorithm: k.algorithm, fingerprint: k.fingerprint, comment: k.comment, createdAt: k.createdAt });

export interface CreateUser {
  password?: string | undefined;
  /** One OpenSSH public key line. */
  publicKey?: string | undefined;
  home?: string | undefined;
  readOnly?: boolean | undefined;
  permissions?: Permission[] | undefined;
  /** Created without a password or key: the user sets one by redeeming an invitation
   * (users/invitations.ts); until then no login can succeed. */
  invited?: boolean | undefined;
}

/** Everything `update` can change; undefined leaves a field as it is. */
export interface UserChanges {
  home?: string | undefined;
  permissions?: Permission[] | undefined;
  readOnly?: boolean | undefined;
  disabled?: boolean | undefined;
  allowedCidrs?: string[] | undefined;
  deniedCidrs?: string[] | undefined;
  accessHours?: string | undefined;
  maxSessions?: number | undefined;
  /** null: follow mfa.required. */
  mfaRequired?: boolean | null | undefined;
}

export class UserService {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly dataDir: string,
  ) {}

  /** Where homes of users created over the API live (and must stay). */
  get homesRoot(): string {
    return path.join(path.resolve(this.dataDir), 'home');
  }

  /**
   * The home directory for a user. The operator at the host's CLI may name any directory; an
   * API token or admin session only a directory below DATADIR/home (relative, no `..`): a token
   * must not turn a partner account into a window on /etc or another user's files.
   */
  resolveHome(actor: Actor, name: string, home: string | undefined): string {
    if (home === undefined || home === '') return path.join(this.homesRoot, name);
    // SECURITY: NUL and control characters never reach the filesystem.
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(home) || home.length > LIMITS.maxAdminHomeLength) throw new PortcullisError('ERR_ADMIN_INVALID_HOME', 'the home contains control characters or is too long');
    if (actor.kind === 'cli') return path.resolve(home);
    // SECURITY: remote admins name a directory below DATADIR/home; absolute paths and `..` are refused.
    const parts = home.split(/[\\/]+/).filter(Boolean);
    if (path.isAbsolute(home) || /^[A-Za-z]:/.test(home) || parts.length === 0 || parts.some((p) => p === '.' || p === '..')) {
      throw new PortcullisError('ERR_ADMIN_INVALID_HOME', 'give a directory relative to DATADIR/home, without "..": over the API a home cannot be elsewhere');
    }
    const resolved = path.join(this.homesRoot, ...parts);
    if (!resolved.startsWith(this.homesRoot + path.sep)) throw new PortcullisError('ERR_ADMIN_INVALID_HOME', 'the home leads outside the homes directory');
    return resolved;
  }

  async list(): Promise<UserView[]> {
    return (await this.store.users.list()).map(viewOf);
  }

  /** Each user with their key count and MFA state (required or not, enrolled, locked). */
  async summaries(mfaRequiredByDefault: boolean, now = new Date()): Promise<UserSummary[]> {
    const users = await this.store.users.list();
    return Promise.all(
      users.map(async (u) => {
        const totp = await this.store.mfa.totp(u.id);
        const mfa = {
          // the user's own setting, else mfa.required
          required: u.mfaRequired ?? mfaRequiredByDefault,
          enrolled: totp?.status === 'active' ? ('yes' as const) : totp ? ('pending' as const) : ('no' as const),
          lockedUntil: await this.store.mfa.lockedUntil(u.id, now),
        };
        return { name: u.name, home: u.home, permissions: u.permissions, disabled: u.disabled, password: u.passwordHash !== null, keys: (await this.store.keys.list(u.id)).length, mfa, createdAt: u.createdAt, updatedAt: u.updatedAt };
      }),
    );
  }

  async get(name: string): Promise<UserView> {
    return viewOf(await this.store.users.require(name));
  }

  async create(actor: Actor, name: string, options: CreateUser): Promise<UserView> {
    assertValidUserName(name);
    if (options.password === undefined && options.publicKey === undefined && !options.invited) {
      throw new PortcullisError('ERR_PASSWORD_INVALID', 'give a password or a public key (a user needs a way to log in)');
    }
    if (options.password !== undefined) assertPassword(options.password);
    const key = options.publicKey !== undefined ? parsePublicKey(options.publicKey) : undefined;
    const home = this.resolveHome(actor, name, options.home);
    const permissions = options.permissions ?? (options.readOnly ? READ_ONLY_PERMISSIONS : ALL_PERMISSIONS);
    const passwordHash = options.password !== undefined ? await hashPassword(options.password) : null;
    if (await this.store.users.get(name)) throw new PortcullisError('ERR_USER_EXISTS', name);
    const user = await this.store.users.add({ name, passwordHash, home, permissions });
    if (key) await this.store.keys.add(user.id, { algorithm: key.algorithm, fingerprint: key.fingerprint, publicKey: key.line, comment: key.comment });
    const after = viewOf(user);
    const detail = [options.readOnly && 'read-only', options.invited && 'invited'].filter(Boolean).join(', ');
    recordChange(this.audit, actor, 'user', 'added', name, { after: { ...after }, ...(detail && { detail }) });
    if (key) recordChange(this.audit, actor, 'user', 'key-added', name, { detail: key.fingerprint });
    return after;
  }

  async update(actor: Actor, name: string, changes: UserChanges): Promise<UserView> {
    const user = await this.store.users.require(name);
    const cidrs = (list: string[] | undefined) => list?.map((c) => parseCidr(c).text);
    if (changes.accessHours) parseAccessHours(changes.accessHours);
    if (changes.maxSessions !== undefined && !(Number.isInteger(changes.maxSessions) && changes.maxSessions >= 0 && changes.maxSessions <= LIMITS.maxSessionsPerUser.ceiling)) {
      throw new PortcullisError('ERR_POLICY_INVALID_RULE', `max sessions must be a whole number from 0 to ${LIMITS.maxSessionsPerUser.ceiling}`);
    }
    if (changes.permissions !== undefined && changes.readOnly !== undefined) throw new PortcullisError('ERR_POLICY_INVALID_RULE', 'give permissions or read-only, not both');
    const permissions = changes.permissions ?? (changes.readOnly === undefined ? undefined : changes.readOnly ? [...READ_ONLY_PERMISSIONS] : [...ALL_PERMISSIONS]);
    if (permissions?.some((p) => !PERMISSIONS.includes(p))) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `permissions are ${PERMISSIONS.join(', ')}`);
    const home = changes.home === undefined ? undefined : this.resolveHome(actor, name, changes.home);
    await this.store.users.update(name, {
      home,
      permissions,
      disabled: changes.disabled,
      allowedCidrs: cidrs(changes.allowedCidrs),
      deniedCidrs: cidrs(changes.deniedCidrs),
      accessHours: changes.accessHours,
      maxSessions: changes.maxSessions,
      mfaRequired: changes.mfaRequired,
    });
    const after = viewOf(await this.store.users.require(name));
    const changed = Object.keys(changes).filter((k) => changes[k as keyof UserChanges] !== undefined);
    recordChange(this.audit, actor, 'user', 'policy-changed', name, { ...diff(viewOf(user), after), detail: changed.join(',') });
    return after;
  }

  async remove(actor: Actor, name: string): Promise<void> {
    const before = viewOf(await this.store.users.require(name));
    await this.store.users.remove(name);
    recordChange(this.audit, actor, 'user', 'removed', name, { before: { ...before } });
  }

  async setPassword(actor: Actor, name: string, password: string): Promise<void> {
    assertPassword(password);
    await this.store.users.require(name);
    await this.store.users.update(name, { passwordHash: await hashPassword(password) });
    recordChange(this.audit, actor, 'user', 'password-changed', name);
  }

  async listKeys(name: string): Promise<KeyView[]> {
    const user = await this.store.users.require(name);
    return (await this.store.keys.list(user.id)).map(keyView);
  }

  async addKey(actor: Actor, name: string, publicKey: string): Promise<KeyView> {
    const user = await this.store.users.require(name);
    const key = parsePublicKey(publicKey);
    const stored = await this.store.keys.add(user.id, { algorithm: key.algorithm, fingerprint: key.fingerprint, publicKey: key.line, comment: key.comment });
    recordChange(this.audit, actor, 'user', 'key-added', name, { detail: key.fingerprint });
    return keyView(stored);
  }

  /** By fingerprint (SHA256:...) or 1-based position in `listKeys`. */
  async removeKey(actor: Actor, name: string, which: string): Promise<KeyView> {
    const user = await this.store.users.require(name);
    const key = await this.store.keys.remove(user.id, which);
    recordChange(this.audit, actor, 'user', 'key-removed', name, { detail: key.fingerprint });
    return keyView(key);
  }

  async listCertPins(name: string): Promise<string[]> {
    return (await this.store.users.require(name)).clientCertPins;
  }

  /** Pins a TLS client certificate (its SHA-256 fingerprint) to the user. */
  async addCertPin(actor: Actor, name: string, fingerprint: string): Promise<string> {
    const fp = parseFingerprint(fingerprint);
    if (!fp) throw new PortcullisError('ERR_KEY_INVALID', 'give the SHA-256 fingerprint of the certificate (64 hex digits, colons optional)');
    const u = await this.store.users.require(name);
    if (u.clientCertPins.includes(fp)) throw new PortcullisError('ERR_KEY_EXISTS', fp);
    if (u.clientCertPins.length >= LIMITS.maxClientCertPins) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `at most ${LIMITS.maxClientCertPins} certificates per user`);
    await this.store.users.update(name, { clientCertPins: [...u.clientCertPins, fp] });
    recordChange(this.audit, actor, 'user', 'policy-changed', name, { before: { clientCertPins: u.clientCertPins }, after: { clientCertPins: [...u.clientCertPins, fp] }, detail: 'client certificates' });
    return fp;
  }

  async removeCertPin(actor: Actor, name: string, fingerprint: string): Promise<string> {
    const fp = parseFingerprint(fingerprint);
    if (!fp) throw new PortcullisError('ERR_KEY_INVALID', 'give the SHA-256 fingerprint shown by `user cert list`');
    const u = await this.store.users.require(name);
    if (!u.clientCertPins.includes(fp)) throw new PortcullisError('ERR_KEY_NOT_FOUND', fp);
    const pins = u.clientCertPins.filter((p) => p !== fp);
    await this.store.users.update(name, { clientCertPins: pins });
    recordChange(this.audit, actor, 'user', 'policy-changed', name, { before: { clientCertPins: u.clientCertPins }, after: { clientCertPins: pins }, detail: 'client certificates' });
    return fp;
  }
}

function assertPassword(password: string): void {
  if (password.length === 0 || Buffer.byteLength(password) > LIMITS.maxPasswordBytes) throw new PortcullisError('ERR_PASSWORD_INVALID', `a password has 1 to ${LIMITS.maxPasswordBytes} bytes`);
}

/** The fields that differ, before and after. */
function diff(before: UserView, after: UserView): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of Object.keys(after) as (keyof UserView)[]) {
    if (k === 'updatedAt' || JSON.stringify(before[k]) === JSON.stringify(after[k])) continue;
    b[k] = before[k];
    a[k] = after[k];
  }
  return { before: b, after: a };
}
