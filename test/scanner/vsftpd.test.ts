// Real vsftpd (Debian package "vsftpd") with private configs on loopback high ports.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { goodCert, tempDir, weakCert } from './helpers/certs.ts';
import { ftpUid, startVsftpd } from './helpers/vsftpd.ts';
import { scan, show } from './helpers/scan.ts';
import type { CheckResult } from '../../src/scanner/types.ts';

function expectStatus(r: { get(id: string): CheckResult }, id: string, status: string): void {
  assert.equal(r.get(id).status, status, show(r.get(id)));
}

void describe('real vsftpd', () => {
  void test('weak legacy config: anonymous read+write, TLS optional with TLS 1.0, expired cert, bounce, PASV leak', async (t) => {
    const cert = weakCert(t, { expired: true, bits: 2048, md: 'sha256' });
    const dirHolder = tempDir(t, 'pcscan-anon-');
    chmodSync(dirHolder, 0o755); // the ftp user must be able to reach the anonymous root
    const anon = path.join(dirHolder, 'anon');
    mkdirSync(anon);
    writeFileSync(path.join(anon, 'readme.txt'), 'public file\n');
    // vsftpd refuses a writable anonymous root; the classic drop box is a writable "incoming" below it
    mkdirSync(path.join(anon, 'incoming'));
    chownSync(path.join(anon, 'incoming'), ftpUid(), 0);
    const url = await startVsftpd(t, [
      'anonymous_enable=YES', `anon_root=${anon}`, 'no_anon_password=YES', 'write_enable=YES', 'anon_upload_enable=YES',
      'anon_mkdir_write_enable=YES', 'anon_other_write_enable=YES', 'local_enable=YES',
      'port_promiscuous=YES', 'pasv_address=10.20.30.40', 'ssl_enable=YES', 'allow_anon_ssl=YES', 'force_local_logins_ssl=NO',
      'force_local_data_ssl=NO', 'ssl_tlsv1=YES', 'ssl_sslv2=NO', 'ssl_sslv3=NO', 'require_ssl_reuse=NO', 'ssl_ciphers=ALL:@SECLEVEL=0',
    ], cert);
    const r = await scan(url, { allow: ['writes'] });
    for (const id of [
      'ftp.tls-optional-login', 'ftp.tls-optional-data', 'ftp.anonymous-login', 'ftp.anonymous-read', 'ftp.anonymous-write',
      'ftp.bounce', 'ftp.pasv-address-leak', 'ftp.syst-disclosure', 'svc.version-disclosure', 'svc.exposed-service',
      'tls.legacy-protocol', 'tls.cert-expired', 'tls.cert-untrusted', 'tls.cert-hostname-mismatch', 'tls.alpaca',
    ]) {
      expectStatus(r, id, 'fail');
    }
    // explicit FTPS with TLS 1.0 and every suite, but Debian's current OpenSSL: none of the check-29 bugs
    for (const id of ['tls.known-vulns', 'tls.cert-weak-key', 'tls.cert-weak-signature', 'ftp.cleartext-only', 'ftp.ccc-allowed', 'ftp.user-enumeration', 'ftp.vsftpd-backdoor', 'ftp.proftpd-modcopy-unauth', 'ftp.iis-exposed']) {
      expectStatus(r, id, 'pass');
    }
    // every check-29 sub-probe ran (none starved by the connection budget or timed out)
    assert.doesNotMatch(r.get('tls.known-vulns').evidence.join('\n'), /could not run|before the timeout/, show(r.get('tls.known-vulns')));
    assert.match(r.get('ftp.anonymous-read').evidence.join(' '), /readme\.txt/);
    assert.match(r.get('ftp.anonymous-write').evidence.join(' '), /incoming\/pcscan-probe-/);
    // the probe cleaned up after itself
    assert.deepEqual(readdirSync(path.join(anon, 'incoming')), []);
    // advice in vsftpd's own directives; anonymous writes closed without stopping local uploads
    const write = r.get('ftp.anonymous-write');
    assert.equal(write.fixFor, 'vsftpd');
    assert.match(write.fix, /anon_upload_enable=NO, anon_mkdir_write_enable=NO/);
    assert.doesNotMatch(write.fix, /^[^(]*\bwrite_enable=NO[,;.]/);
    assert.match(r.get('ftp.bounce').fix, /port_promiscuous=NO/);
    assert.match(r.get('ftp.pasv-address-leak').fix, /pasv_address=/);
    assert.match(r.get('tls.legacy-protocol').fix, /ssl_tlsv1=NO/);
  });

  void test('hardened config: TLS required (FEAT hides AUTH TLS), TLS 1.2+, ECDHE-AEAD only, no anonymous, good cert', async (t) => {
    const cert = goodCert(t);
    const url = await startVsftpd(t, [
      'anonymous_enable=NO', 'local_enable=YES', 'write_enable=NO', 'ftpd_banner=Service ready', 'ssl_enable=YES',
      'force_local_logins_ssl=YES', 'force_local_data_ssl=YES', 'ssl_tlsv1=NO', 'ssl_sslv2=NO', 'ssl_sslv3=NO',
      'ssl_ciphers=ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL', 'port_promiscuous=NO',
    ], cert);
    const r = await scan(url, { ca: [cert.ca!] });
    for (const id of [
      'ftp.cleartext-only', 'ftp.tls-optional-login', 'ftp.anonymous-login', 'ftp.anonymous-read', 'ftp.anonymous-write',
      'ftp.user-enumeration', 'ftp.syst-disclosure', 'svc.version-disclosure', 'ftp.proftpd-modcopy-unauth',
      'tls.legacy-protocol', 'tls.weak-cipher', 'tls.anon-cipher', 'tls.no-forward-secrecy', 'tls.weak-dh', 'tls.cert-expired',
      'tls.cert-untrusted', 'tls.cert-hostname-mismatch', 'tls.cert-weak-key', 'tls.cert-weak-signature', 'tls.known-vulns',
    ]) {
      expectStatus(r, id, 'pass');
    }
    // no login possible: the credentialed checks say so instead of passing
    expectStatus(r, 'ftp.tls-optional-data', 'error');
    assert.equal(r.get('ftp.tls-optional-data').reasonCode, 'needs-credentials');
  });
});
