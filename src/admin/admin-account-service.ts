// Operators' accounts for the web admin (docs/web.md). There is no default account: the first
// one is made at the host's command line (`portcullis admin account create NAME`), which prints
// its TOTP secret once. Every admin has a password (argon2id) and TOTP: the web sign-in needs
// both. Failed sign-ins count per account (lockout) and are audited as `auth.failed` on the
// `admin` protocol, which the defender scores per address like any failed login.
import type { Audit } from '../audit/audit.ts';
import { matchingStep, newSecret, newTotp, normaliseCode, TOTP_CODE } from '../auth/mfa/codes.ts';
import type { SecretBox } from '../auth/mfa/secret-box.ts';
import { assertAcceptablePassword, hashPassword, verifyPassword } from '../auth/passwords.ts';
import type { Config } from '../config/schema.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import type { Protocol } from '../audit/events.ts';
import type { Store } from '../store/store.ts';
import { ADMIN_ROLES, type AdminAccount, type AdminRole } from '../store/web-repository.ts';
import type { Actor } from './actor.ts';
import { recordChange } from './record-change.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MIN_ADMIN_PASSWORD = 12;

export interface AdminAccountView {
  name: string;
  role: AdminRole;
  disabled: boolean;
  lockedUntil: string | null;
  createdAt: string;
  createdBy: string;
}

export interface CreatedAdmin extends AdminAccountView {
  /** Shown once: base32 secret and otpauth:// URI for the authenticator app. */
  totpSecret: string;
  totpUri: string;
}

const view = (a: AdminAccount): AdminAccountView => ({ name: a.name, role: a.role, disabled: a.disabled, lockedUntil: a.lockedUntil, createdAt: a.createdAt, createdBy: a.createdBy });

export type SignInFailure = 'unknown-user' | 'bad-credentials' | 'disabled' | 'mfa-locked';

export class AdminAccountService {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly box: () => SecretBox,
    private readonly config: Config,
    /** In the server: the throttled, queued check file-protocol logins use (Core.checkPassword). */
    private readonly checkPasswordFor: (name: string, storedHash: string | null, password: string, address: string) => Promise<boolean> = (_n, h, p) => verifyPassword(h, p),
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<AdminAccountView[]> {
    return (await this.store.admins.list()).map(view);
  }

  async count(): Promise<number> {
    return this.store.admins.count();
  }

  async create(actor: Actor, name: string, role: string, password: string): Promise<CreatedAdmin> {
    if (!NAME.test(name)) throw new PortcullisError('ERR_ADMIN_ACCOUNT_INVALID', 'the name must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    if (!(ADMIN_ROLES as readonly string[]).includes(role)) throw new PortcullisError('ERR_ADMIN_ACCOUNT_INVALID', `the role must be one of ${ADMIN_ROLES.join(', ')}`);
    assertAcceptablePassword(password);
    if (password.length < MIN_ADMIN_PASSWORD) throw new PortcullisError('ERR_ADMIN_ACCOUNT_INVALID', `an admin password has at least ${MIN_ADMIN_PASSWORD} characters`);
    const secret = newSecret();
    const added = await this.store.admins.add({
      name,
      passwordHash: await hashPassword(password),
      role: role as AdminRole,
      // SECURITY: the TOTP secret is sealed by the MFA key and bound to the account's name
      totpSecret: this.box().seal(Buffer.from(secret.bytes), `admin:${name}`),
      createdBy: `${actor.kind}:${actor.id}`,
    });
    if (!added) throw new PortcullisError('ERR_ADMIN_ACCOUNT_EXISTS', name);
    recordChange(this.audit, actor, 'admin', 'created', name, { after: { role } });
    const account = (await this.store.admins.byName(name))!;
    return { ...view(account), totpSecret: secret.base32, totpUri: newTotp(secret, `${this.config.mfa.issuer} admin`, name).toString() };
  }

  async setDisabled(actor: Actor, name: string, disabled: boolean): Promise<void> {
    if (!(await this.store.admins.setDisabled(name, disabled))) throw new PortcullisError('ERR_ADMIN_ACCOUNT_INVALID', `no admin account ${name}`);
    if (disabled) await this.store.webSessions.removeSubject('admin', name);
    recordChange(this.audit, actor, 'admin', disabled ? 'disabled' : 'enabled', name);
  }

  private fail(name: string, address: string, reason: SignInFailure, method: 'password' | 'totp', protocol: Protocol = 'admin'): { ok: false; reason: SignInFailure } {
    this.audit.emit({ type: 'auth.failed', protocol, method: `web-${method}`, code: 'ERR_WEB_LOGIN_FAILED', reason: reason === 'mfa-locked' ? 'mfa-locked' : reason, remoteAddress: address, user: name.slice(0, 64) });
    return { ok: false, reason };
  }

  private async countFailure(account: AdminAccount, address: string): Promise<void> {
    const n = await this.store.admins.recordFailure(account.id);
    if (n >= LIMITS.web.adminLockoutFailures) {
      const until = new Date(this.now() + LIMITS.web.adminLockoutMs);
      await this.store.admins.lock(account.id, until);
      this.audit.emit({ type: 'auth.mfa.locked', protocol: 'admin', remoteAddress: address, user: account.name, until: until.toISOString() });
    }
  }

  private locked(account: AdminAccount): boolean {
    return account.lockedUntil !== null && Date.parse(account.lockedUntil) > this.now();
  }

  /** The first factor. Unknown names cost one argon2 verification like wrong passwords. */
  async checkPassword(name: string, password: string, address: string): Promise<{ ok: true; account: AdminAccount } | { ok: false; reason: SignInFailure }> {
    const account = NAME.test(name) ? await this.store.admins.byName(name) : undefined;
    // SECURITY: the per-name throttle and the verification queue, like every other login: a web
    // brute force slows its own guesses, not the file-protocol logins of everyone else
    const matches = await this.checkPasswordFor(`admin:${name.slice(0, 64)}`, account?.passwordHash ?? null, password, address);
    if (!account) return this.fail(name, address, 'unknown-user', 'password');
    if (this.locked(account)) return this.fail(name, address, 'mfa-locked', 'password');
    if (!matches) {
      await this.countFailure(account, address);
      return this.fail(name, address, 'bad-credentials', 'password');
    }
    if (account.disabled) return this.fail(name, address, 'disabled', 'password');
    return { ok: true, account };
  }

  /** The second factor: a current TOTP code, each time step usable once (replay-proof). */
  async checkCode(name: string, input: string, address: string): Promise<{ ok: true; account: AdminAccount } | { ok: false; reason: SignInFailure }> {
    const account = await this.store.admins.byName(name);
    if (!account) return this.fail(name, address, 'unknown-user', 'totp');
    if (account.disabled) return this.fail(name, address, 'disabled', 'totp');
    if (this.locked(account)) return this.fail(name, address, 'mfa-locked', 'totp');
    const code = normaliseCode(input);
    const step = TOTP_CODE.test(code) ? matchingStep(this.box().open(account.totpSecret, `admin:${name}`), code, this.now()) : null;
    // SECURITY: the step must be newer than any used before (one conditional update: no race)
    if (step === null || !(await this.store.admins.useStep(account.id, step))) {
      await this.countFailure(account, address);
      return this.fail(name, address, 'bad-credentials', 'totp');
    }
    await this.store.admins.clearFailures(account.id);
    return { ok: true, account };
  }
}
