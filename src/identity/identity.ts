// The server's identity: a TLS certificate and SSH host keys, generated in the data dir on
// first start (mode 0600 in a 0700 folder) and reused on every later start.
import { webcrypto, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata'; // required by @peculiar/x509 (tsyringe), must load first
import * as x509 from '@peculiar/x509';
import type ssh2 from 'ssh2';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { parseSshKey, sshFingerprint } from '../auth/public-keys.ts';
import { PortcullisError } from '../errors/index.ts';

export interface HostKey {
  type: 'ed25519' | 'rsa';
  file: string;
  privateKey: Buffer;
  /** `SHA256:base64`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  description: string;
}

export interface TlsIdentity {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** SHA-256 of the DER certificate, colon-separated hex. */
  fingerprint: string;
  subjectAltNames: string;
  validTo: string;
  description: string;
}

export interface Identity {
  tls: TlsIdentity;
  hostKeys: HostKey[];
  /** Files created on this start (empty when everything was reused). */
  created: string[];
}

function writeSecret(file: string, data: string | Buffer): void {
  writeFileSync(file, data, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

function readSecret(file: string): Buffer {
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) chmodSync(file, 0o600); // SECURITY: tighten a loosened key file
    return readFileSync(file);
  } catch (err) {
    throw new PortcullisError('ERR_IDENTITY_UNREADABLE', `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/**
 * A new host key pair in OpenSSH format, checked before use: it must parse, sign, and verify
 * with its public half. (ssh2's generator used to write one ed25519 key in 256 with its public
 * half cut short: patches/README.md, part 5; the check stays, as a start that fails is better
 * than a server no client can verify.)
 */
export function generateHostKeyPair(type: HostKey['type']): { private: string; public: string } {
  // ssh2 is loaded here, on first use: the CLI's commands that open the store (user list, …)
  // load this module but never generate a key, and loading ssh2 is ~40 ms of their start-up.
  const { utils } = createRequire(import.meta.url)('ssh2') as typeof ssh2;
  const pair = type === 'ed25519' ? utils.generateKeyPairSync('ed25519') : utils.generateKeyPairSync('rsa', { bits: LIMITS.rsaHostKeyBits });
  const priv = parseSshKey(pair.private);
  const pub = parseSshKey(pair.public);
  const probe = Buffer.from('portcullis host key check');
  const sig = priv?.isPrivateKey() ? priv.sign(probe) : null;
  if (!pub || !sig || sig instanceof Error || pub.verify(probe, sig) !== true) throw new PortcullisError('ERR_IDENTITY_UNREADABLE', `the new ${type} host key does not parse, sign and verify: report it (ssh2's key generator)`);
  return pair;
}

function loadHostKey(type: HostKey['type'], file: string, created: string[]): HostKey {
  if (!existsSync(file)) {
    const pair = generateHostKeyPair(type);
    writeSecret(file, pair.private);
    writeFileSync(`${file}.pub`, `${pair.public} portcullis\n`, { mode: 0o644 });
    created.push(file);
  }
  const privateKey = readSecret(file);
  const key = parseSshKey(privateKey);
  if (!key) throw new PortcullisError('ERR_IDENTITY_UNREADABLE', `${file}: not an OpenSSH private key`);
  const bits = type === 'rsa' ? `-${readRsaBits(key.getPublicSSH())}` : '';
  return { type, file, privateKey, fingerprint: sshFingerprint(key.getPublicSSH()), description: `${key.type}${bits}` };
}

/** Modulus size of an ssh-rsa public blob (string "ssh-rsa", mpint e, mpint n). */
function readRsaBits(blob: Buffer): number {
  let off = 0;
  const next = (): Buffer => {
    const len = blob.readUInt32BE(off);
    const v = blob.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return v;
  };
  next();
  next();
  const n = next();
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  return (n.length - i) * 8;
}

async function generateCertificate(certFile: string, keyFile: string): Promise<void> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
  const host = os.hostname();
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + LIMITS.selfSignedCertDays * 86_400_000);
  const names = [...new Set([host, 'localhost'])].map((value) => ({ type: 'dns' as const, value }));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: webcrypto.getRandomValues(new Uint8Array(16)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '7'),
    name: `CN=${host.replace(/[,+="<>#;\\]/g, '')}`,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([...names, { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  writeSecret(keyFile, keyPem);
  writeFileSync(certFile, cert.toString('pem') + '\n', { mode: 0o644, flag: 'wx' });
}

export function describeCertificate(certFile: string, keyFile: string, cert: Buffer, key: Buffer): TlsIdentity {
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
  } catch (err) {
    throw new PortcullisError('ERR_IDENTITY_UNREADABLE', `${certFile}: not a PEM certificate`, { cause: err });
  }
  const pk = parsed.publicKey;
  const details = pk.asymmetricKeyDetails;
  const kind = pk.asymmetricKeyType === 'ec' ? `ECDSA ${details?.namedCurve ?? ''}`.trim() : `${pk.asymmetricKeyType?.toUpperCase()}-${details?.modulusLength ?? '?'}`;
  return {
    certFile,
    keyFile,
    cert,
    key,
    fingerprint: parsed.fingerprint256,
    subjectAltNames: parsed.subjectAltName ?? '',
    validTo: new Date(parsed.validTo).toISOString(),
    description: kind,
  };
}

/** Loads (or on first start creates) the TLS certificate and SSH host keys. */
export async function loadIdentity(config: Pick<Config, 'dataDir' | 'tls'>): Promise<Identity> {
  const created: string[] = [];
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const sshDir = path.join(config.dataDir, 'ssh');
  const tlsDir = path.join(config.dataDir, 'tls');
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });

  let certFile = config.tls.certFile;
  let keyFile = config.tls.keyFile;
  if (!certFile || !keyFile) {
    certFile = path.join(tlsDir, 'cert.pem');
    keyFile = path.join(tlsDir, 'key.pem');
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      await generateCertificate(certFile, keyFile);
      created.push(certFile, keyFile);
    }
  }
  const tls = describeCertificate(certFile, keyFile, readSecret(certFile), readSecret(keyFile));
  const hostKeys = [loadHostKey('ed25519', path.join(sshDir, 'ssh_host_ed25519_key'), created), loadHostKey('rsa', path.join(sshDir, 'ssh_host_rsa_key'), created)];
  return { tls, hostKeys, created };
}

/** Re-reads the certificate and key (SIGHUP): returns the new identity or throws, leaving the old in use. */
export function reloadTls(current: TlsIdentity): TlsIdentity {
  return describeCertificate(current.certFile, current.keyFile, readSecret(current.certFile), readSecret(current.keyFile));
}
