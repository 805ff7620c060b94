// Test certificates generated with the openssl CLI (a missing binary fails the test loudly).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export function requireBinary(file: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${file}`], { stdio: 'pipe' });
  } catch {
    throw new Error(`${file} not found: install the Debian package "${pkg}" (apt-get install -y ${pkg})`);
  }
}

export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

export interface CertPair {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
  /** PEM of the issuing CA (for --ca), when CA-signed. */
  ca?: string;
}

/**
 * A weak self-signed certificate: CN only, RSA 1024 + SHA-1 by default, optionally expired. (Debian's
 * OpenSSL refuses to load 1024-bit/SHA-1 certificates into vsftpd, so it uses bits 2048 + sha256.)
 */
export function weakCert(t: TestContext, opts: { expired?: boolean; bits?: number; md?: string } = {}): CertPair {
  const md = opts.md ?? 'sha1';
  requireBinary('openssl', 'openssl');
  const dir = tempDir(t, 'pcscan-weakcert-');
  openssl(dir, ['req', '-new', '-newkey', `rsa:${opts.bits ?? 1024}`, '-nodes', '-keyout', 'key.pem', '-subj', '/CN=weak.example', '-out', 'req.csr']);
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '01\n');
  writeFileSync(
    path.join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\npolicy=p\ndefault_md=${md}\nunique_subject=no\n[p]\ncommonName=supplied\n`,
  );
  const [start, end] = opts.expired ? ['20200101000000Z', '20210101000000Z'] : ['20240101000000Z', '20991231000000Z'];
  openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'key.pem', '-in', 'req.csr', '-startdate', start, '-enddate', end, '-md', md, '-notext', '-out', 'cert.pem']);
  return read(dir);
}

/** A good certificate: RSA 2048, SHA-256, SAN IP:127.0.0.1 and DNS:localhost, signed by a test CA. */
export function goodCert(t: TestContext): CertPair {
  requireBinary('openssl', 'openssl');
  const dir = tempDir(t, 'pcscan-goodcert-');
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Portcullis Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-subj', '/CN=localhost', '-out', 'req.csr']);
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl(dir, ['x509', '-req', '-in', 'req.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-sha256', '-extfile', 'ext.cnf', '-out', 'cert.pem']);
  return { ...read(dir), ca: readFileSync(path.join(dir, 'ca.pem'), 'utf8') };
}

function read(dir: string): CertPair {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), keyFile, certFile };
}
