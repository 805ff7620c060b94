// Certificate facts for the TLS checks: validity, trust, names, key size, signature algorithm.
import { X509Certificate } from 'node:crypto';
import net from 'node:net';

function readTlv(buf: Buffer, off: number): { tag: number; start: number; end: number } {
  const tag = buf[off];
  let len = buf[off + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  if (start + len > buf.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function decodeOid(b: Buffer): string {
  const parts: number[] = [];
  const first = b[0] ?? 0;
  parts.push(Math.floor(first / 40), first % 40);
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    const byte = b[i]!;
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** OID of Certificate.signatureAlgorithm (RFC 5280 §4.1.1.2), read from the DER. */
export function parseSignatureOid(der: Buffer): string {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.start);
  const algSeq = readTlv(der, tbs.end);
  const oid = readTlv(der, algSeq.start);
  if (oid.tag !== 0x06) throw new Error('signatureAlgorithm has no OID');
  return decodeOid(der.subarray(oid.start, oid.end));
}

export const SIGNATURE_NAMES: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};
export const WEAK_SIGNATURES = new Set(['1.2.840.113549.1.1.2', '1.2.840.113549.1.1.4', '1.2.840.113549.1.1.5', '1.2.840.10040.4.3', '1.2.840.10045.4.1']);

export interface CertFacts {
  subject: string;
  issuer: string;
  selfSigned: boolean;
  validFrom: Date;
  validTo: Date;
  keyType: string;
  keyBits: number | undefined;
  signatureOid: string;
  signatureName: string;
  san: string;
}

function curveBits(curve: string | undefined): number | undefined {
  if (!curve) return undefined;
  const m = /(\d{3})/.exec(curve);
  return m ? Number(m[1]) : undefined;
}

export function certFacts(der: Buffer): CertFacts {
  const c = new X509Certificate(der);
  const d = c.publicKey.asymmetricKeyDetails ?? {};
  const type = c.publicKey.asymmetricKeyType ?? 'unknown';
  const keyBits = type === 'ec' ? curveBits(d.namedCurve) : type === 'ed25519' ? 256 : type === 'ed448' ? 456 : d.modulusLength;
  const oid = parseSignatureOid(der);
  return {
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    selfSigned: c.subject === c.issuer && c.verify(c.publicKey),
    validFrom: new Date(c.validFrom),
    validTo: new Date(c.validTo),
    keyType: type === 'ec' ? `EC ${d.namedCurve ?? ''}`.trim() : type.toUpperCase(),
    keyBits,
    signatureOid: oid,
    signatureName: SIGNATURE_NAMES[oid] ?? oid,
    san: c.subjectAltName ?? '',
  };
}

/** RFC 6125 name check for the scanned host (DNS name or IP). */
export function certMatchesHost(der: Buffer, host: string): boolean {
  const c = new X509Certificate(der);
  return net.isIP(host) ? c.checkIP(host) !== undefined : c.checkHost(host) !== undefined;
}
