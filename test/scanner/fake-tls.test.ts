// TLS checks against Node FTPS fakes: one deliberately weak, one hardened.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { goodCert, tempDir, weakCert } from './helpers/certs.ts';
import { startFakeFtp } from './helpers/fake-ftp.ts';
import { scan, show } from './helpers/scan.ts';
import type { CheckResult } from '../../src/scanner/types.ts';

const TLS_IDS = [
  'tls.legacy-protocol', 'tls.weak-cipher', 'tls.anon-cipher', 'tls.no-forward-secrecy', 'tls.weak-dh', 'tls.cert-expired',
  'tls.cert-untrusted', 'tls.cert-hostname-mismatch', 'tls.cert-weak-key', 'tls.cert-weak-signature', 'tls.client-renegotiation', 'tls.alpaca',
];

function expectStatus(r: { get(id: string): CheckResult }, id: string, status: string): void {
  assert.equal(r.get(id).status, status, show(r.get(id)));
}

void describe('TLS probes', () => {
  void test('weak implicit FTPS: TLS 1.0, NULL/anon/static-RSA suites, 1024-bit DH, expired SHA-1 1024-bit self-signed cert', async (t) => {
    const cert = weakCert(t, { expired: true });
    const dir = tempDir(t, 'pcscan-dh-');
    // Safe-prime parameters: OpenSSL 3.5 (Node 26) refuses DSA-style (-dsaparam) groups for TLS.
    execFileSync('openssl', ['dhparam', '-out', 'dh.pem', '1024'], { cwd: dir, stdio: 'pipe' });
    const srv = await startFakeFtp(t, {
      greeting: '220 FTP server ready',
      implicitTls: {
        key: cert.key,
        cert: cert.cert,
        minVersion: 'TLSv1',
        ciphers: 'ALL:eNULL:@SECLEVEL=0',
        dhparam: execFileSync('cat', [path.join(dir, 'dh.pem')]),
      },
    });
    const r = await scan(srv.url);
    for (const id of TLS_IDS) expectStatus(r, id, 'fail');
    assert.match(r.get('tls.legacy-protocol').evidence.join(' '), /TLSv1\b.*accepted/);
    // Node's OpenSSL cannot offer SSLv2/SSLv3; the raw hellos of check 29 can, and are refused here.
    assert.match(r.get('tls.legacy-protocol').evidence.join(' '), /SSLv3: refused \(raw hello/);
    assert.match(r.get('tls.legacy-protocol').evidence.join(' '), /SSLv2: refused \(raw hello/);
    assert.match(r.get('tls.weak-dh').evidence[0]!, /1024 bits/);
    assert.match(r.get('tls.cert-weak-signature').evidence[0]!, /sha1WithRSAEncryption/);
    assert.match(r.get('tls.cert-expired').evidence[0]!, /expired/);
    // weak settings, but a current OpenSSL: none of the check-29 bugs; ROBOT cannot be ruled out (static RSA)
    expectStatus(r, 'tls.known-vulns', 'pass');
    assert.match(r.get('tls.known-vulns').evidence.join('\n'), /ROBOT .*not tested: static-RSA key exchange is accepted.*testssl\.sh --robot/);
    assert.match(r.get('tls.known-vulns').evidence.join('\n'), /TLSv1\.2 ServerHello carries an empty renegotiation_info/);
    expectStatus(r, 'ftp.cleartext-only', 'pass');
  });

  void test('hardened implicit FTPS: TLS 1.3 only, CA-signed RSA-2048 SHA-256 cert with SAN, strict ALPN/SNI', async (t) => {
    const cert = goodCert(t);
    const srv = await startFakeFtp(t, {
      greeting: '220 Service ready',
      implicitTls: {
        key: cert.key,
        cert: cert.cert,
        minVersion: 'TLSv1.3',
        ALPNProtocols: ['ftp'],
        SNICallback: (name, cb) => (name === 'localhost' ? cb(null, tls.createSecureContext({ key: cert.key, cert: cert.cert })) : cb(new Error('unknown server name'), undefined)),
      },
    });
    const r = await scan(srv.url, { ca: [cert.ca!] });
    for (const id of TLS_IDS.filter((x) => x !== 'tls.client-renegotiation')) expectStatus(r, id, 'pass');
    // TLS 1.3 only: there is no renegotiation to test
    expectStatus(r, 'tls.client-renegotiation', 'not-applicable');
    // TLS 1.3 only: SSLv2/SSLv3 refused, the TLS ≤ 1.2 bugs cannot apply
    expectStatus(r, 'tls.known-vulns', 'pass');
    const subs = new Map(r.get('tls.known-vulns').subProbes!.map((p) => [p.name, p.status]));
    assert.equal(subs.get('POODLE (SSLv3)'), 'pass');
    assert.equal(subs.get('DROWN (SSLv2)'), 'pass');
    for (const name of ['Heartbleed', 'CCS injection', 'insecure renegotiation', 'Ticketbleed', 'ROBOT']) assert.equal(subs.get(name), 'not-applicable', name);
  });

  void test('untrusted without --ca, trusted with it', async (t) => {
    const cert = goodCert(t);
    const srv = await startFakeFtp(t, { greeting: '220 ready', implicitTls: { key: cert.key, cert: cert.cert } });
    const without = await scan(srv.url);
    expectStatus(without, 'tls.cert-untrusted', 'fail');
    expectStatus(without, 'tls.cert-hostname-mismatch', 'pass');
    const withCa = await scan(srv.url, { ca: [cert.ca!] });
    expectStatus(withCa, 'tls.cert-untrusted', 'pass');
  });
});
