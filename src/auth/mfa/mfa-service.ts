// Multi-factor authentication: enrolment (pending → confirmed with a valid code), TOTP and
// recovery-code verification, replay protection and lockout. All state is in the store, so
// nodes on one database share it.
import * as OTPAuth from 'otpauth';
import type { Audit } from '../../audit/audit.ts';
import type { Config } from '../../config/schema.ts';
import { PortcullisError } from '../../errors/index.ts';
import type { ConnectionContext } from '../../net/connection.ts';
import type { Store } from '../../store/store.ts';
import type { User } from '../../store/user-repository.ts';
import { matchingStep, newRecoveryCode, newSecret, newTotp, normaliseCode, RECOVERY_CODE, TOTP_CODE, TOTP_PERIOD, TOTP_WINDOW } from './codes.ts';
import type { SecretBox } from './secret-box.ts';

export const RECOVERY_CODE_COUNT = 10;

export type VerifyResult = { ok: true; kind: 'totp' | 'recovery-code' } | { ok: false; reason: 'wrong-code' | 'malformed' | 'replayed' | 'locked' | 'not-enrolled' };

export interface MfaStatus {
  required: boolean;
  state: 'none' | 'pending' | 'active';
  recoveryCodesLeft: number;
  lockedUntil: string | null;
}

export class MfaService {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly box: SecretBox,
    private readonly config: Config['mfa'],
    private readonly now: () => number = Date.now,
  ) {}

  requires(user: User): boolean {
    return user.mfaRequired ?? this.config.required;
  }

  async isEnrolled(user: User): Promise<boolean> {
    return (await this.store.mfa.totp(user.id))?.status === 'active';
  }

  async isLocked(user: User): Promise<boolean> {
    return (await this.store.mfa.lockedUntil(user.id, new Date(this.now()))) !== null;
  }

  async status(user: User): Promise<MfaStatus> {
    const totp = await this.store.mfa.totp(user.id);
    return {
      required: this.requires(user),
      state: totp ? (totp.status === 'active' ? 'active' : 'pending') : 'none',
      recoveryCodesLeft: await this.store.mfa.unusedRecoveryCodes(user.id),
      lockedUntil: await this.store.mfa.lockedUntil(user.id, new Date(this.now())),
    };
  }

  /** Creates a pending secret (replacing any earlier pending or active one only on confirm). */
  async enroll(user: User): Promise<{ secret: string; uri: string }> {
    const current = await this.store.mfa.totp(user.id);
    if (current?.status === 'active') {
      throw new PortcullisError('ERR_MFA_CODE_INVALID', `${user.name} already has an active code; run \`portcullis mfa disable ${user.name}\` first`);
    }
    const secret = newSecret();
    await this.store.mfa.setPending(user.id, this.box.seal(Buffer.from(secret.bytes), String(user.id)));
    this.audit.emit({ type: 'mfa.enrolled', protocol: 'cli', subject: user.name });
    return { secret: secret.base32, uri: newTotp(secret, this.config.issuer, user.name).toString() };
  }

  /** Activates the pending secret if `code` is currently valid; returns the recovery codes (shown once). */
  async confirm(user: User, code: string): Promise<string[]> {
    const pending = await this.store.mfa.totp(user.id);
    if (!pending || pending.status !== 'pending') throw new PortcullisError('ERR_MFA_NOT_PENDING', `run \`portcullis mfa enroll ${user.name}\` first`);
    const secret = this.box.open(pending.secret, String(user.id));
    if (!TOTP_CODE.test(code.trim()) || matchingStep(secret, code.trim(), this.now()) === null) {
      throw new PortcullisError('ERR_MFA_CODE_INVALID', 'give the 6-digit code the authenticator app shows now (check the clock of both devices)');
    }
    await this.store.mfa.activate(user.id);
    const codes = await this.newRecoveryCodes(user);
    this.audit.emit({ type: 'mfa.confirmed', protocol: 'cli', subject: user.name });
    return codes;
  }

  async regenerateRecoveryCodes(user: User): Promise<string[]> {
    if (!(await this.isEnrolled(user))) throw new PortcullisError('ERR_MFA_NOT_ENROLLED', user.name);
    const codes = await this.newRecoveryCodes(user);
    this.audit.emit({ type: 'mfa.recovery.regenerated', protocol: 'cli', subject: user.name });
    return codes;
  }

  private async newRecoveryCodes(user: User): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.store.mfa.replaceRecoveryCodes(
      user.id,
      codes.map((c) => this.recoveryMac(user, c)),
    );
    return codes;
  }

  async disable(user: User): Promise<void> {
    await this.store.mfa.disable(user.id);
    await this.store.mfa.unlock(user.id);
    this.audit.emit({ type: 'mfa.disabled', protocol: 'cli', subject: user.name });
  }

  private recoveryMac(user: User, code: string): string {
    return this.box.mac(`recovery:${user.id}:${code}`);
  }

  /** Verifies a second factor for a login from `ctx`. Emits auth.mfa.* events. */
  async verify(user: User, input: string, ctx: ConnectionContext): Promise<VerifyResult> {
    const base = { connectionId: ctx.id, protocol: ctx.protocol, remoteAddress: ctx.remoteAddress, user: user.name };
    const now = new Date(this.now());
    if (await this.store.mfa.lockedUntil(user.id, now)) return { ok: false, reason: 'locked' };
    const totp = await this.store.mfa.totp(user.id);
    if (totp?.status !== 'active') {
      this.audit.emit({ type: 'auth.mfa.failed', ...base, reason: 'not-enrolled' });
      return { ok: false, reason: 'not-enrolled' };
    }
    const code = normaliseCode(input);
    if (TOTP_CODE.test(code)) {
      const step = matchingStep(this.box.open(totp.secret, String(user.id)), code, now.getTime());
      if (step !== null) {
        const mac = this.box.mac(`totp:${user.id}:${step}:${code}`);
        const seen = await this.store.mfa.usedCodeAddresses(user.id, mac, now);
        // SECURITY: a code is single-use across addresses. The same user re-sending it from the
        // same address inside its validity window is a client reconnecting (lftp, curl, rclone
        // re-send PASS); from anywhere else it is a replay.
        const other = seen.find((a) => a !== ctx.remoteAddress);
        if (other !== undefined) {
          this.audit.emit({ type: 'auth.mfa.replayed', ...base, firstAddress: other });
          await this.failure(user, ctx);
          return { ok: false, reason: 'replayed' };
        }
        if (seen.length === 0) await this.store.mfa.rememberCode(user.id, mac, ctx.remoteAddress, new Date((step + 1 + TOTP_WINDOW) * TOTP_PERIOD * 1000));
        this.audit.emit({ type: 'auth.mfa.succeeded', ...base, method: 'totp' });
        return { ok: true, kind: 'totp' };
      }
    } else if (RECOVERY_CODE.test(code)) {
      if (await this.store.mfa.consumeRecoveryCode(user.id, this.recoveryMac(user, code))) {
        const remaining = await this.store.mfa.unusedRecoveryCodes(user.id);
        this.audit.emit({ type: 'auth.mfa.succeeded', ...base, method: 'recovery-code' });
        this.audit.emit({ type: 'mfa.recovery.used', ...base, remaining });
        return { ok: true, kind: 'recovery-code' };
      }
    }
    const malformed = !TOTP_CODE.test(code) && !RECOVERY_CODE.test(code);
    this.audit.emit({ type: 'auth.mfa.failed', ...base, reason: malformed ? 'malformed' : 'wrong-code' });
    await this.failure(user, ctx);
    return { ok: false, reason: malformed ? 'malformed' : 'wrong-code' };
  }

  private async failure(user: User, ctx: ConnectionContext): Promise<void> {
    const now = new Date(this.now());
    const n = await this.store.mfa.recordFailure(user.id, now, this.config.lockoutWindowMinutes * 60_000);
    if (n >= this.config.lockoutFailures) {
      const until = new Date(now.getTime() + this.config.lockoutMinutes * 60_000);
      await this.store.mfa.lock(user.id, until);
      this.audit.emit({ type: 'auth.mfa.locked', connectionId: ctx.id, protocol: ctx.protocol, remoteAddress: ctx.remoteAddress, user: user.name, until: until.toISOString() });
    }
  }
}

/** For tests and scripts: the current code of a base32 secret. */
export function currentCode(base32: string, at = Date.now()): string {
  return newTotp(OTPAuth.Secret.fromBase32(base32), 'x', 'x').generate({ timestamp: at });
}
