// Public keys: parsing authorized_keys lines, fingerprints, and signature verification.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type ssh2 from 'ssh2';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';

/** Key types accepted for users. SECURITY: no DSA; RSA keys below 2048 bits are refused. */
const ALLOWED_TYPES = new Set(['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);

/** `SHA256:base64` without padding, as `ssh-keygen -l` prints it. */
export function sshFingerprint(publicBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
}

/** ssh2's parseKey, narrowed: one key or null (it may also return an Error or, for some
 * inputs, an array). */
/** ssh2, loaded on first use: the CLI's user commands need it only when a key is given. */
let ssh2Module: typeof ssh2 | undefined;
function ssh2Lib(): typeof ssh2 {
  ssh2Module ??= createRequire(import.meta.url)('ssh2') as typeof ssh2;
  return ssh2Module;
}

export function parseSshKey(data: string | Buffer): ssh2.ParsedKey | null {
  const parsed: unknown = ssh2Lib().utils.parseKey(data);
  if (parsed instanceof Error || parsed === null || parsed === undefined) return null;
  return (Array.isArray(parsed) ? (parsed[0] as ssh2.ParsedKey | undefined) : (parsed as ssh2.ParsedKey)) ?? null;
}

export interface ParsedPublicKey {
  algorithm: string;
  fingerprint: string;
  /** Canonical `algorithm base64` line plus comment. */
  line: string;
  comment: string;
  blob: Buffer;
}

function rsaBits(blob: Buffer): number {
  let off = 0;
  const parts: Buffer[] = [];
  while (off + 4 <= blob.length && parts.length < 3) {
    const len = blob.readUInt32BE(off);
    parts.push(blob.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  const n = parts[2] ?? Buffer.alloc(0);
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  return (n.length - i) * 8;
}

export function parsePublicKey(text: string): ParsedPublicKey {
  const trimmed = text.trim();
  if (Buffer.byteLength(trimmed) > LIMITS.maxPublicKeyBytes) throw new PortcullisError('ERR_KEY_INVALID', 'the key is too long');
  if (/PRIVATE KEY/.test(trimmed)) throw new PortcullisError('ERR_KEY_INVALID', 'this is a private key; give the .pub file');
  if (trimmed.includes('\n')) throw new PortcullisError('ERR_KEY_INVALID', 'give one key per file (one line)');
  const parsed = ssh2Lib().utils.parseKey(trimmed);
  if (parsed instanceof Error) throw new PortcullisError('ERR_KEY_INVALID', parsed.message);
  const key = parseSshKey(trimmed);
  if (!key || key.isPrivateKey()) throw new PortcullisError('ERR_KEY_INVALID', 'not a public key');
  if (!ALLOWED_TYPES.has(key.type)) throw new PortcullisError('ERR_KEY_INVALID', `key type ${key.type} is not allowed (use ed25519, ECDSA or RSA >= 2048 bits)`);
  const blob = key.getPublicSSH();
  if (key.type === 'ssh-rsa' && rsaBits(blob) < 2048) throw new PortcullisError('ERR_KEY_INVALID', `RSA key of ${rsaBits(blob)} bits is too small (minimum 2048)`);
  const comment = (key.comment || '').replace(/[^\x20-\x7e]/g, '').slice(0, 200);
  return { algorithm: key.type, fingerprint: sshFingerprint(blob), line: `${key.type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`, comment, blob };
}

/** Does `line` (a stored authorized key) hold the same public key as `blob`? */
export function sameKey(line: string, algorithm: string, blob: Buffer): boolean {
  const key = parseSshKey(line);
  return !!key && key.type === algorithm && key.getPublicSSH().equals(blob);
}

/** Verifies a signature made by the private half of `line` over `data`. */
export function verifySignature(line: string, data: Buffer, signature: Buffer, hashAlgorithm?: string): boolean {
  const key = parseSshKey(line);
  if (!key) return false;
  try {
    return key.verify(data, signature, hashAlgorithm) === true;
  } catch {
    return false;
  }
}
