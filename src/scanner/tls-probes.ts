// TLS probes for FTPS endpoints (checks 19-31), using Node's OpenSSL (check 29: raw records, tls-vulns.ts). Weak settings
// (@SECLEVEL=0, TLS 1.0) are used here only to *probe* what the server accepts.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { certFacts, certMatchesHost, WEAK_SIGNATURES } from './cert.ts';
import type { TargetScan } from './context.ts';
import { errorMessage } from './errors.ts';
import { rawTlsSocket } from './tls-transport.ts';
import { knownVulns, type SslOutcomes } from './tls-vulns.ts';

export const TLS_CHECKS = [
  'tls.legacy-protocol', 'tls.weak-cipher', 'tls.anon-cipher', 'tls.no-forward-secrecy', 'tls.weak-dh',
  'tls.cert-expired', 'tls.cert-untrusted', 'tls.cert-hostname-mismatch', 'tls.cert-weak-key',
  'tls.cert-weak-signature', 'tls.known-vulns', 'tls.client-renegotiation', 'tls.alpaca',
] as const;

/** Cipher classes for tls.weak-cipher, as OpenSSL cipher strings. */
const WEAK_CLASSES: [label: string, spec: string][] = [
  ['NULL', 'eNULL'],
  ['EXPORT', 'EXPORT'],
  ['RC4', 'RC4'],
  ['DES', 'DES'],
  ['3DES', '3DES'],
  ['IDEA', 'IDEA'],
];

/** Can this Node/OpenSSL build offer anything matching the cipher string? */
export function canOffer(spec: string): boolean {
  try {
    tls.createSecureContext({ ciphers: `${spec}:@SECLEVEL=0`, minVersion: 'TLSv1', maxVersion: 'TLSv1.2' });
    return true;
  } catch {
    return false;
  }
}

export interface Handshake {
  ok: boolean;
  error?: string;
  protocol?: string | null;
  cipher?: string;
  ephemeral?: tls.EphemeralKeyInfo | object | null;
  chain?: Buffer[];
  authorized?: boolean;
  authError?: string;
  alpn?: string | false;
  renegotiated?: 'accepted' | 'refused';
}

let trustStore: string[] | undefined;
function trusted(extra: string[]): string[] {
  if (!trustStore) {
    trustStore = [...tls.rootCertificates];
    for (const f of ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt']) {
      if (existsSync(f)) {
        trustStore.push(readFileSync(f, 'utf8'));
        break;
      }
    }
  }
  return [...trustStore, ...extra];
}

/**
 * One handshake with the given client options. Setup failures (TCP, AUTH TLS) throw; a handshake
 * the server refuses resolves with ok=false.
 */
export async function handshake(s: TargetScan, opts: tls.ConnectionOptions, renegotiate = false): Promise<Handshake> {
  const { socket, release } = await rawTlsSocket(s);
  const host = s.target.host;
  return new Promise<Handshake>((resolve) => {
    let settled = false;
    const t = tls.connect({
      rejectUnauthorized: false,
      ...(net.isIP(host) ? {} : { servername: host }),
      ...opts,
      socket,
    });
    const timer = setTimeout(() => finish({ ok: false, error: 'handshake timed out' }), s.options.timeoutMs);
    function finish(h: Handshake): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      t.destroy();
      socket.destroy();
      release();
      resolve(h);
    }
    t.on('error', (err) => finish({ ok: false, error: errorMessage(err) }));
    t.on('close', () => finish({ ok: false, error: 'connection closed during handshake' }));
    t.once('secureConnect', () => {
      const chain: Buffer[] = [];
      let cert = t.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
      const seen = new Set<string>();
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(cert.raw);
        cert = cert.issuerCertificate;
      }
      const h: Handshake = {
        ok: true,
        protocol: t.getProtocol(),
        cipher: t.getCipher().standardName || t.getCipher().name,
        ephemeral: t.getEphemeralKeyInfo(),
        chain,
        authorized: t.authorized,
        ...(t.authorizationError ? { authError: String(t.authorizationError) } : {}),
        alpn: t.alpnProtocol ?? false,
      };
      if (!renegotiate) return finish(h);
      const rtimer = setTimeout(() => finish({ ...h, renegotiated: 'refused' }), Math.min(3000, s.options.timeoutMs));
      t.removeAllListeners('error');
      t.on('error', () => {
        clearTimeout(rtimer);
        finish({ ...h, renegotiated: 'refused' });
      });
      const started = t.renegotiate({ rejectUnauthorized: false }, (err) => {
        clearTimeout(rtimer);
        finish({ ...h, renegotiated: err ? 'refused' : 'accepted' });
      });
      if (started === false) {
        clearTimeout(rtimer);
        finish({ ...h, renegotiated: 'refused' });
      }
    });
  });
}

const NOT_TESTABLE = 'not testable with this OpenSSL';

export async function scanTls(s: TargetScan): Promise<void> {
  for (const id of TLS_CHECKS) s.implemented.add(id);
  if (!s.tlsAvailable) {
    for (const id of TLS_CHECKS) s.notApplicable(id, 'the server offers no TLS (see ftp.cleartext-only)');
    return;
  }
  const all = 'ALL:@SECLEVEL=0';
  // ROBOT (in tls.known-vulns) reuses the static-RSA verdict of tls.no-forward-secrecy.
  const noForwardSecrecy = guard(s, ['tls.no-forward-secrecy'], () => suiteClass(s, 'tls.no-forward-secrecy', 'kRSA', 'static-RSA key exchange'));
  // tls.legacy-protocol reuses the raw SSLv3/SSLv2 hellos of tls.known-vulns (POODLE, DROWN).
  let sslDone: (o: SslOutcomes | undefined) => void = () => undefined;
  const ssl = new Promise<SslOutcomes | undefined>((resolve) => (sslDone = resolve));
  await Promise.all([
    guard(s, ['tls.cert-expired', 'tls.cert-untrusted', 'tls.cert-hostname-mismatch', 'tls.cert-weak-key', 'tls.cert-weak-signature'], () => certChecks(s)),
    guard(s, ['tls.legacy-protocol'], () => legacyProtocols(s, all, ssl)),
    guard(s, ['tls.weak-cipher'], () => weakCiphers(s)),
    guard(s, ['tls.anon-cipher'], () => suiteClass(s, 'tls.anon-cipher', 'aNULL', 'anonymous (aNULL) key exchange')),
    noForwardSecrecy,
    guard(s, ['tls.weak-dh'], () => weakDh(s)),
    guard(s, ['tls.alpaca'], () => alpaca(s)),
    guard(s, ['tls.client-renegotiation'], () => renegotiation(s)),
    guard(s, ['tls.known-vulns'], () => knownVulns(s, noForwardSecrecy.then(() => s.results.get('tls.no-forward-secrecy')), sslDone)).finally(() => sslDone(undefined)),
  ]);
}

async function guard(s: TargetScan, ids: string[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    s.errorAll(ids, `probe failed: ${errorMessage(err)}`);
  }
}

async function legacyProtocols(s: TargetScan, ciphers: string, ssl: Promise<SslOutcomes | undefined>): Promise<void> {
  const accepted: string[] = [];
  const evidence: string[] = [];
  for (const v of ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const) {
    const h = await handshake(s, { minVersion: v, maxVersion: v, ciphers });
    evidence.push(`${v}: ${h.ok ? `accepted (${h.cipher})` : `refused (${h.error})`}`);
    if (h.ok && (v === 'TLSv1' || v === 'TLSv1.1')) accepted.push(v);
  }
  // Node's OpenSSL 3 cannot send SSLv2/SSLv3 hellos; the raw record layer (tls-raw.ts) can.
  const raw = await ssl;
  let sslAccepted = false;
  for (const [name, o] of [['SSLv3', raw?.ssl3], ['SSLv2', raw?.ssl2]] as const) {
    if (!o || o.status === 'error' || o.status === 'not-applicable') evidence.unshift(`${name}: ${NOT_TESTABLE}${o ? ` (raw hello: ${o.detail})` : ''}`);
    else {
      evidence.unshift(`${name}: ${o.status === 'fail' ? 'accepted' : 'refused'} (raw hello: ${o.detail})`);
      if (o.status === 'fail') {
        accepted.unshift(name);
        sslAccepted = true;
      }
    }
  }
  if (accepted.length) s.fail('tls.legacy-protocol', [`legacy protocol(s) accepted: ${accepted.join(', ')}`, ...evidence], sslAccepted ? { severity: 'high' } : {});
  else s.pass('tls.legacy-protocol', ...evidence);
}

async function weakCiphers(s: TargetScan): Promise<void> {
  const accepted: string[] = [];
  const evidence: string[] = [];
  for (const [label, spec] of WEAK_CLASSES) {
    if (!canOffer(spec)) {
      evidence.push(`${label}: ${NOT_TESTABLE}`);
      continue;
    }
    const h = await handshake(s, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: `${spec}:@SECLEVEL=0` });
    evidence.push(`${label}: ${h.ok ? `accepted (${h.cipher}, ${h.protocol})` : 'refused'}`);
    if (h.ok) accepted.push(`${label} (${h.cipher})`);
  }
  if (accepted.length) s.fail('tls.weak-cipher', [`weak suites accepted: ${accepted.join(', ')}`, ...evidence]);
  else s.pass('tls.weak-cipher', ...evidence);
}

async function suiteClass(s: TargetScan, id: string, spec: string, what: string): Promise<void> {
  if (!canOffer(spec)) {
    s.error(id, `${what}: ${NOT_TESTABLE}`, 'not-testable');
    return;
  }
  const h = await handshake(s, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: `${spec}:@SECLEVEL=0` });
  if (h.ok) s.fail(id, [`${what} accepted: ${h.cipher} (${h.protocol})`]);
  else s.pass(id, `only ${what} suites offered: refused (${h.error})`);
}

async function weakDh(s: TargetScan): Promise<void> {
  const h = await handshake(s, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: 'kDHE:@SECLEVEL=0' });
  if (!h.ok) {
    s.pass('tls.weak-dh', `no finite-field DHE suite accepted (${h.error})`);
    return;
  }
  const e = h.ephemeral as { type?: string; size?: number } | null | undefined;
  if (e?.type === 'DH' && typeof e.size === 'number') {
    if (e.size < 2048) s.fail('tls.weak-dh', [`DHE group of ${e.size} bits with ${h.cipher} (Logjam: below 2048)`]);
    else s.pass('tls.weak-dh', `DHE group of ${e.size} bits with ${h.cipher}`);
  } else {
    s.error('tls.weak-dh', `DHE suite ${h.cipher} accepted but the group size was not reported`, 'probe-failed');
  }
}

async function certChecks(s: TargetScan): Promise<void> {
  const h = await handshake(s, { minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0', ca: trusted(s.options.ca) });
  const ids = ['tls.cert-expired', 'tls.cert-untrusted', 'tls.cert-hostname-mismatch', 'tls.cert-weak-key', 'tls.cert-weak-signature'];
  if (!h.ok) {
    s.errorAll(ids, `TLS handshake failed: ${h.error}`);
    return;
  }
  const leaf = h.chain?.[0];
  if (!leaf) {
    s.errorAll(ids, `no server certificate (anonymous suite ${h.cipher}?)`);
    return;
  }
  const f = certFacts(leaf);
  const who = `subject ${f.subject}; issuer ${f.issuer}`;
  const now = Date.now();
  const dates = `valid ${f.validFrom.toISOString()} to ${f.validTo.toISOString()}`;
  s.certificate = { subject: f.subject, issuer: f.issuer, validFrom: f.validFrom.toISOString(), validTo: f.validTo.toISOString() };
  if (f.validTo.getTime() < now) s.fail('tls.cert-expired', [`certificate expired on ${f.validTo.toISOString()} (${who})`, dates]);
  else if (f.validFrom.getTime() > now) s.fail('tls.cert-expired', [`certificate not valid before ${f.validFrom.toISOString()} (${who})`, dates]);
  else s.pass('tls.cert-expired', dates);

  if (h.authorized) s.pass('tls.cert-untrusted', `chain verifies against the system store${s.options.ca.length ? ' plus --ca' : ''} (${who})`);
  else s.fail('tls.cert-untrusted', [`chain does not verify: ${h.authError ?? 'unknown error'}${f.selfSigned ? ' (self-signed)' : ''}`, who]);

  if (certMatchesHost(leaf, s.target.host)) s.pass('tls.cert-hostname-mismatch', `certificate names match ${s.target.host}: ${f.san || f.subject}`);
  else s.fail('tls.cert-hostname-mismatch', [`certificate does not name ${s.target.host}: ${f.san ? `SAN ${f.san}` : `no SAN, ${f.subject}`}`]);

  const weakKey = f.keyBits !== undefined && ((/^(RSA|RSA-PSS|DSA)$/.test(f.keyType) && f.keyBits < 2048) || (f.keyType.startsWith('EC') && f.keyBits < 224));
  if (f.keyBits === undefined) s.error('tls.cert-weak-key', `key size of ${f.keyType} key not determined`);
  else if (weakKey) s.fail('tls.cert-weak-key', [`${f.keyType} key of ${f.keyBits} bits`]);
  else s.pass('tls.cert-weak-key', `${f.keyType} key of ${f.keyBits} bits`);

  if (WEAK_SIGNATURES.has(f.signatureOid)) s.fail('tls.cert-weak-signature', [`leaf signed with ${f.signatureName} (${f.signatureOid})`]);
  else s.pass('tls.cert-weak-signature', `leaf signed with ${f.signatureName}`);
}

async function alpaca(s: TargetScan): Promise<void> {
  const h = await handshake(s, { minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'], servername: 'alpaca-probe.invalid' });
  if (h.ok) s.fail('tls.alpaca', [`handshake with ALPN http/1.1 and SNI alpaca-probe.invalid accepted (${h.protocol}, ALPN ${h.alpn === false ? 'ignored' : h.alpn})`]);
  else s.pass('tls.alpaca', `handshake with foreign ALPN/SNI refused: ${h.error}`);
}

async function renegotiation(s: TargetScan): Promise<void> {
  const h = await handshake(s, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: 'ALL:@SECLEVEL=0' }, true);
  if (!h.ok) {
    s.notApplicable('tls.client-renegotiation', `no TLS 1.2 or older handshake (${h.error}); TLS 1.3 has no renegotiation`);
    return;
  }
  if (h.renegotiated === 'accepted') s.fail('tls.client-renegotiation', [`client-initiated renegotiation accepted on ${h.protocol}`]);
  else s.pass('tls.client-renegotiation', `client-initiated renegotiation refused on ${h.protocol}`);
}
