// One-time enrolment invitations: a user created without a password (an IIS import) redeems a
// random token once, before it expires, to set a password; MFA enrolment follows with
// `portcullis mfa enroll`. Only a keyed hash of the token is stored (HMAC with the MFA key), so
// a copy of the database alone redeems nothing.
import { randomBytes } from 'node:crypto';
import type { Audit } from '../audit/audit.ts';
import type { SecretBox } from '../auth/mfa/secret-box.ts';
import { assertAcceptablePassword } from '../auth/passwords.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import type { Store } from '../store/store.ts';
import type { User } from '../store/user-repository.ts';
import { cliActor, protocolOf, type Actor } from '../admin/actor.ts';
import type { UserService } from '../admin/user-service.ts';

const TOKEN_PREFIX = 'pci_';
const TOKEN = /^pci_[A-Za-z0-9_-]{32}$/;

export interface Invitation {
  user: string;
  /** Shown once; never stored. */
  token: string;
  expiresAt: string;
}

export class InvitationService {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly box: SecretBox,
    private readonly users: UserService,
    /** Who redeems: the operator at the CLI today, the portal later. */
    private readonly actor: Actor = cliActor(),
  ) {}

  private mac(token: string): string {
    return this.box.mac(`invitation:${token}`);
  }

  /** A new invitation for `name`; any unused one before it stops working. */
  async create(name: string, days: number = LIMITS.migrate.inviteDays.default, now = new Date(), actor: Actor = this.actor): Promise<Invitation> {
    if (!Number.isInteger(days) || days < LIMITS.migrate.inviteDays.min || days > LIMITS.migrate.inviteDays.ceiling) {
      throw new PortcullisError('ERR_INVITE_INVALID', `an invitation lasts ${LIMITS.migrate.inviteDays.min}-${LIMITS.migrate.inviteDays.ceiling} days`);
    }
    const user = await this.store.users.require(name);
    // SECURITY: 24 random bytes (192 bits), URL-safe; only its keyed hash reaches the store.
    const token = TOKEN_PREFIX + randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + days * 86_400_000);
    await this.store.invitations.revokeOpen(user.id, now);
    await this.store.invitations.add(user.id, this.mac(token), expiresAt);
    this.audit.emit({ type: 'user.changed', protocol: protocolOf(actor), ...(actor.kind !== 'cli' && { remoteAddress: actor.address }), action: 'invited', subject: user.name, detail: `expires ${expiresAt.toISOString()} (by ${actor.kind} ${actor.id})` });
    return { user: user.name, token, expiresAt: expiresAt.toISOString() };
  }

  /** The user an unused, unexpired token is for (the portal shows it before the password is
   * chosen); refusals are audited like a failed redemption. Nothing is consumed. */
  async check(token: string, address: string, now = new Date()): Promise<User> {
    const invitation = TOKEN.test(token) ? await this.store.invitations.find(this.mac(token)) : undefined;
    const reason = !invitation ? 'unknown' : invitation.usedAt ? 'used' : invitation.expiresAt <= now.toISOString() ? 'expired' : null;
    const user = invitation && !reason ? (await this.store.users.list()).find((u) => u.id === invitation.userId) : undefined;
    if (!user) {
      this.audit.emit({ type: 'user.invitation.refused', protocol: protocolOf(this.actor), remoteAddress: address, reason: reason ?? 'unknown' });
      throw new PortcullisError('ERR_INVITE_INVALID', 'the link is unknown, already used or expired: ask the administrator for a new invitation');
    }
    return user;
  }

  /** Redeems a token: sets the user's password. Unknown, used and expired tokens fail alike. */
  async accept(token: string, password: string, now = new Date()): Promise<User> {
    assertAcceptablePassword(password);
    const refuse = (reason: 'unknown' | 'used' | 'expired'): never => {
      this.audit.emit({ type: 'user.invitation.refused', protocol: protocolOf(this.actor), ...(this.actor.kind !== 'cli' && { remoteAddress: this.actor.address }), reason });
      throw new PortcullisError('ERR_INVITE_INVALID', 'the token is unknown, already used or expired: ask the administrator for a new invitation');
    };
    const invitation = TOKEN.test(token) ? await this.store.invitations.find(this.mac(token)) : undefined;
    if (!invitation) return refuse('unknown');
    if (invitation.usedAt) return refuse('used');
    if (invitation.expiresAt <= now.toISOString()) return refuse('expired');
    const user = (await this.store.users.list()).find((u) => u.id === invitation.userId);
    if (!user) return refuse('unknown');
    // SECURITY: consumed before the password is set, atomically: two redemptions cannot both win.
    if (!(await this.store.invitations.consume(invitation.id, now))) return refuse('used');
    await this.users.setPassword(this.actor, user.name, password);
    this.audit.emit({ type: 'user.changed', protocol: protocolOf(this.actor), ...(this.actor.kind !== 'cli' && { remoteAddress: this.actor.address }), action: 'invitation-accepted', subject: user.name });
    return user;
  }
}
