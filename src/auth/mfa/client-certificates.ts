// TLS client certificates as the FTPS second factor (with the password): a certificate counts
// for a user when its SHA-256 fingerprint is pinned to that user, or when it is signed by the
// configured client CA, currently valid, and names the user (CN or an email/DNS SAN).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PortcullisError } from '../../errors/index.ts';
import type { User } from '../../store/user-repository.ts';

export interface PresentedCertificate {
  /** DER of the leaf the client sent. */
  raw: Buffer;
}

export function fingerprintOf(certPemOrDer: string | Buffer): string {
  try {
    return new X509Certificate(certPemOrDer).fingerprint256;
  } catch (err) {
    throw new PortcullisError('ERR_KEY_INVALID', 'not a PEM or DER X.509 certificate', { cause: err });
  }
}

/** "AB:CD:…" (64 hex digits, colons optional, any case) → canonical colon form. */
export function parseFingerprint(input: string): string | null {
  const hex = input.replace(/^sha256[:=]/i, '').replace(/:/g, '').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return null;
  return hex.toUpperCase().match(/../g)!.join(':');
}

export class ClientCertificateVerifier {
  private readonly ca: X509Certificate | null;

  constructor(caFile: string | null) {
    this.ca = caFile ? new X509Certificate(readFileSync(caFile)) : null;
  }

  /** Does this certificate prove the user? */
  matches(user: User, presented: PresentedCertificate, now = new Date()): boolean {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(presented.raw);
    } catch {
      return false;
    }
    if (user.clientCertPins.includes(cert.fingerprint256)) return true;
    if (!this.ca) return false;
    // SECURITY: chained to our client CA, within its validity, and naming this user.
    if (!cert.checkIssued(this.ca) || !cert.verify(this.ca.publicKey)) return false;
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return false;
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    const sans = (cert.subjectAltName ?? '').split(/,\s*/).map((s) => s.replace(/^(email|DNS):/, ''));
    return cn === user.name || sans.includes(user.name);
  }
}
