// User administration shared by the CLI (and later the admin API): validation, hashing, the
// store, and one `user.changed` audit event per change. Never logs a password or a key blob.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Audit } from '../audit/audit.ts';
import { hashPassword } from '../auth/passwords.ts';
import { parsePublicKey } from '../auth/public-keys.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import { ALL_PERMISSIONS, READ_ONLY_PERMISSIONS, type Permission } from '../session/permissions.ts';
import type { StoredKey } from '../store/key-repository.ts';
import type { Store } from '../store/store.ts';
import type { User } from '../store/user-repository.ts';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function assertValidUserName(name: string): void {
  if (name.length === 0 || name.length > LIMITS.maxUserNameLength || !NAME.test(name)) {
    throw new PortcullisError('ERR_USER_INVALID_NAME', `"${name.slice(0, 80)}": use 1-${LIMITS.maxUserNameLength} letters, digits, dot, dash or underscore, not starting with dot or dash`);
  }
}

export interface AddUserOptions {
  password?: string | undefined;
  keyFile?: string | undefined;
  home?: string | undefined;
  readOnly?: boolean | undefined;
  /** Exact permissions (wins over readOnly). */
  permissions?: readonly Permission[] | undefined;
  /** No password nor key yet: the user enrols through a one-time invitation (src/users/invitations.ts). */
  invited?: boolean | undefined;
}

export class UserAdmin {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly dataDir: string,
  ) {}

  private changed(action: 'added' | 'removed' | 'password-changed' | 'key-added' | 'key-removed', subject: string, detail?: string): void {
    this.audit.emit({ type: 'user.changed', protocol: 'cli', action, subject, ...(detail && { detail }) });
  }

  async add(name: string, options: AddUserOptions): Promise<User> {
    assertValidUserName(name);
    if (options.password === undefined && options.keyFile === undefined && !options.invited) {
      throw new PortcullisError('ERR_PASSWORD_INVALID', 'give --password-stdin or --key (a user needs a way to log in)');
    }
    const key = options.keyFile !== undefined ? this.readKey(options.keyFile) : undefined;
    const passwordHash = options.password !== undefined ? await hashPassword(options.password) : null;
    if (await this.store.users.get(name)) throw new PortcullisError('ERR_USER_EXISTS', name);
    const home = options.home ? path.resolve(options.home) : path.join(this.dataDir, 'home', name);
    const user = await this.store.users.add({ name, passwordHash, home, permissions: options.permissions ?? (options.readOnly ? READ_ONLY_PERMISSIONS : ALL_PERMISSIONS) });
    if (key) await this.store.keys.add(user.id, { algorithm: key.algorithm, fingerprint: key.fingerprint, publicKey: key.line, comment: key.comment });
    this.changed('added', name, [options.readOnly && 'read-only', options.invited && 'invited'].filter(Boolean).join(', ') || undefined);
    if (key) this.changed('key-added', name, key.fingerprint);
    return user;
  }

  async remove(name: string): Promise<void> {
    await this.store.users.remove(name);
    this.changed('removed', name);
  }

  async setPassword(name: string, password: string): Promise<void> {
    await this.store.users.require(name);
    await this.store.users.update(name, { passwordHash: await hashPassword(password) });
    this.changed('password-changed', name);
  }

  async addKey(name: string, keyFile: string): Promise<StoredKey> {
    const user = await this.store.users.require(name);
    const key = this.readKey(keyFile);
    const stored = await this.store.keys.add(user.id, { algorithm: key.algorithm, fingerprint: key.fingerprint, publicKey: key.line, comment: key.comment });
    this.changed('key-added', name, key.fingerprint);
    return stored;
  }

  async listKeys(name: string): Promise<StoredKey[]> {
    const user = await this.store.users.require(name);
    return this.store.keys.list(user.id);
  }

  async removeKey(name: string, which: string): Promise<StoredKey> {
    const user = await this.store.users.require(name);
    const key = await this.store.keys.remove(user.id, which);
    this.changed('key-removed', name, key.fingerprint);
    return key;
  }

  private readKey(file: string) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new PortcullisError('ERR_KEY_INVALID', `${file}: ${(err as NodeJS.ErrnoException).code ?? 'cannot read'}`, { cause: err });
    }
    return parsePublicKey(text);
  }
}
