// One-time code formats. A TOTP code is exactly six digits; a recovery code is
// "XXXXX-XXXXX" in an alphabet without digits 0/1 or look-alike letters, so the two can never
// be confused (FTPS clients append either to the password).
import { randomInt } from 'node:crypto';
import * as OTPAuth from 'otpauth';

export const TOTP_CODE = /^\d{6}$/;
const RECOVERY_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const RECOVERY_CODE = /^[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}$/;
export const TOTP_PERIOD = 30;
export const TOTP_WINDOW = 1;

export function newTotp(secret: OTPAuth.Secret, issuer: string, user: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer, label: user, secret, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD });
}

export function newSecret(): OTPAuth.Secret {
  return new OTPAuth.Secret({ size: 20 });
}

/** The time step a code matches (±1 step around now), or null. */
export function matchingStep(secret: Buffer, code: string, now = Date.now()): number | null {
  if (!TOTP_CODE.test(code)) return null;
  const totp = newTotp(OTPAuth.Secret.fromHex(secret.toString('hex')), 'x', 'x');
  const delta = totp.validate({ token: code, timestamp: now, window: TOTP_WINDOW });
  return delta === null ? null : Math.floor(now / 1000 / TOTP_PERIOD) + delta;
}

export function newRecoveryCode(): string {
  const pick = () => Array.from({ length: 5 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('');
  return `${pick()}-${pick()}`;
}

/** Normalises what a user typed: case and surrounding spaces do not matter for recovery codes. */
export function normaliseCode(input: string): string {
  const t = input.trim();
  return TOTP_CODE.test(t) ? t : t.toUpperCase();
}

/** FTPS: `PASS <password><code>`. Splits off a trailing TOTP or recovery code, if any. */
export function splitPasswordAndCode(pass: string): { password: string; code: string } | null {
  const recovery = /^(.*)([A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5})$/i.exec(pass);
  if (recovery && RECOVERY_CODE.test(recovery[2]!.toUpperCase())) return { password: recovery[1]!, code: recovery[2]!.toUpperCase() };
  const totp = /^(.*)(\d{6})$/.exec(pass);
  if (totp) return { password: totp[1]!, code: totp[2]! };
  return null;
}
