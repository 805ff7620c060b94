// Password hashing and verification: argon2id at OWASP parameters. An unknown user is checked
// against a dummy hash so that its timing matches a wrong password for a real user.
import type { Algorithm } from '@node-rs/argon2';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';

// @node-rs/argon2 declares Algorithm as a const enum, which tsx cannot inline: 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;
const OPTIONS = { algorithm: ARGON2ID, ...LIMITS.argon2 };

// The native module is loaded on first use: commands that only read users (`user list`) never
// pay for it, and the server loads it at start through warmPasswordVerifier.
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'));
const hash = async (password: string, options: typeof OPTIONS) => (await loadArgon2()).hash(password, options);
const verify = async (stored: string, password: string) => (await loadArgon2()).verify(stored, password);

export function assertAcceptablePassword(password: string): void {
  if (password.length === 0) throw new PortcullisError('ERR_PASSWORD_INVALID', 'the password is empty');
  if (Buffer.byteLength(password) > LIMITS.maxPasswordBytes) throw new PortcullisError('ERR_PASSWORD_INVALID', `longer than ${LIMITS.maxPasswordBytes} bytes`);
  if (/[\0\r\n]/.test(password)) throw new PortcullisError('ERR_PASSWORD_INVALID', 'contains NUL or line breaks, which FTP cannot send');
}

export async function hashPassword(password: string): Promise<string> {
  assertAcceptablePassword(password);
  return hash(password, OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/** A hash of a random password, made once per process, to verify against for unknown users. */
function getDummyHash(): Promise<string> {
  dummyHash ??= hash(crypto.randomUUID(), OPTIONS);
  return dummyHash;
}

/**
 * Verifies a password against a stored hash, or (hash null: unknown user, or a user without a
 * password) against the dummy hash, so every failure costs one argon2 verification.
 * Never throws on malformed input: that is simply a failure.
 */
export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  // SECURITY: over-long input is refused without hashing it, but only after spending the same
  // time as a real check, so length does not become a timing oracle for the user's existence.
  const tooLong = Buffer.byteLength(password) > LIMITS.maxPasswordBytes;
  const target = storedHash ?? (await getDummyHash());
  let ok: boolean;
  try {
    ok = await verify(target, tooLong ? '' : password);
  } catch {
    ok = false;
  }
  return ok && storedHash !== null && !tooLong;
}

/** Warm the dummy hash at start so the first unknown-user attempt is not measurably slower. */
export async function warmPasswordVerifier(): Promise<void> {
  await getDummyHash();
}
