// Banner-only and policy cases against small fake FTP servers on 127.0.0.1.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startFakeFtp } from './helpers/fake-ftp.ts';
import { scan, show } from './helpers/scan.ts';
import { goodCert } from './helpers/certs.ts';

function expectStatus(r: { get(id: string): import('../../src/scanner/types.ts').CheckResult }, id: string, status: string): void {
  const res = r.get(id);
  assert.equal(res.status, status, show(res));
}

void describe('fake FTP servers', () => {
  void test('IIS "Microsoft FTP Service": exposure, known CVEs, Windows SYST', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 Microsoft FTP Service', syst: '215 Windows_NT' });
    const r = await scan(srv.url);
    expectStatus(r, 'ftp.iis-exposed', 'fail');
    expectStatus(r, 'ftp.iis-known-cves', 'fail');
    assert.match(r.get('ftp.iis-known-cves').evidence.join(' '), /verify the patch level/);
    assert.equal(r.get('ftp.iis-known-cves').potential, true);
    expectStatus(r, 'ftp.syst-disclosure', 'fail');
    // IIS cannot change its SYST answer: the advice says so instead of naming a setting it lacks
    assert.equal(r.get('ftp.syst-disclosure').fixFor, 'Microsoft FTP Service');
    assert.match(r.get('ftp.syst-disclosure').fix, /no setting changes it/);
    assert.match(r.get('ftp.cleartext-only').fix, /FTP SSL Settings/);
    expectStatus(r, 'ftp.cleartext-only', 'fail');
    expectStatus(r, 'svc.exposed-service', 'fail');
    assert.equal(r.get('svc.exposed-service').severity, 'info');
  });

  void test('STAT that echoes the client address discloses nothing; STAT naming an OS version does', async (t) => {
    const quiet = await startFakeFtp(t, { greeting: '220 FTP server ready', stat: '211-Server status:\r\n Connected from 127.0.0.1\r\n Client [::1]:2121\r\n211 End of status' });
    expectStatus(await scan(quiet.url), 'ftp.syst-disclosure', 'pass');
    const loud = await startFakeFtp(t, { greeting: '220 FTP server ready', stat: '211-Server status:\r\n Connected from 127.0.0.1\r\n Running on Linux 5.10\r\n211 End of status' });
    const r = await scan(loud.url);
    expectStatus(r, 'ftp.syst-disclosure', 'fail');
    assert.match(r.get('ftp.syst-disclosure').evidence.join(' '), /Linux 5\.10/);
  });

  void test('vsFTPd 2.3.4 banner: backdoor, advisory, version disclosure', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 (vsFTPd 2.3.4)' });
    const r = await scan(srv.url);
    expectStatus(r, 'ftp.vsftpd-backdoor', 'fail');
    assert.equal(r.get('ftp.vsftpd-backdoor').severity, 'critical');
    expectStatus(r, 'svc.vulnerable-version', 'fail');
    assert.deepEqual(r.get('svc.vulnerable-version').advisories?.map((a) => a.cves).flat(), ['CVE-2011-2523']);
    assert.equal(r.get('svc.vulnerable-version').potential, true);
    expectStatus(r, 'svc.version-disclosure', 'fail');
    expectStatus(r, 'ftp.iis-exposed', 'pass');
    expectStatus(r, 'ftp.proftpd-backdoor', 'pass');
    // intrusive part is gated, and the scanner never connected to 6200 nor sent the smiley user
    assert.ok(!srv.commands.some((c) => /^USER .*:\)/.test(c)));
  });

  void test('ProFTPD 1.3.3c with pre-login SITE CPFR → 350', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ProFTPD 1.3.3c Server (Debian) [127.0.0.1]', cpfrReply: '350 File or directory exists, ready for destination name' });
    const r = await scan(srv.url);
    expectStatus(r, 'ftp.proftpd-backdoor', 'fail');
    expectStatus(r, 'ftp.proftpd-modcopy-unauth', 'fail');
    expectStatus(r, 'ftp.proftpd-telnet-iac', 'pass');
    // SECURITY: never CPTO
    assert.ok(srv.commands.some((c) => /^SITE CPFR/i.test(c)));
    assert.ok(!srv.commands.some((c) => /CPTO/i.test(c)));
  });

  void test('ProFTPD 1.3.3a: Telnet IAC range (CVE-2010-4221)', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ProFTPD 1.3.3a Server (ProFTPD)' });
    const r = await scan(srv.url);
    expectStatus(r, 'ftp.proftpd-telnet-iac', 'fail');
    expectStatus(r, 'ftp.proftpd-backdoor', 'pass');
    expectStatus(r, 'ftp.proftpd-modcopy-unauth', 'pass');
    assert.ok(r.get('svc.vulnerable-version').advisories?.some((a) => a.cves.includes('CVE-2010-4221')));
  });

  void test('FreeBSD ftpd banner: libopie (CVE-2010-1938)', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ftp.example.org FTP server (Version 6.00LS) ready.' });
    const r = await scan(srv.url);
    expectStatus(r, 'ftp.libopie', 'fail');
    expectStatus(r, 'ftp.vsftpd-backdoor', 'pass');
  });

  void test('plaintext-only legacy server: anonymous read/write, bounce, PASV leak, user enumeration', async (t) => {
    const srv = await startFakeFtp(t, {
      greeting: '220 FTP server ready',
      feat: ['SIZE', 'MDTM'],
      anonymous: true,
      listing: '-rw-r--r-- 1 ftp ftp 12 Jan 01 2020 secrets.txt\r\n',
      pasvAddress: '10.11.12.13',
      portAccepted: true,
      writable: true,
      userReply: (u) => (u === 'root' || u === 'admin' || u === 'anonymous' ? '331 Password required for ' + u : '530 User unknown'),
    });
    const r = await scan(srv.url, { allow: ['writes'] });
    expectStatus(r, 'ftp.cleartext-only', 'fail');
    assert.match(r.get('ftp.cleartext-only').evidence.join(' '), /FEAT lacks AUTH TLS/);
    expectStatus(r, 'ftp.tls-optional-login', 'not-applicable');
    expectStatus(r, 'ftp.anonymous-login', 'fail');
    expectStatus(r, 'ftp.anonymous-read', 'fail');
    expectStatus(r, 'ftp.anonymous-write', 'fail');
    expectStatus(r, 'ftp.bounce', 'fail');
    expectStatus(r, 'ftp.pasv-address-leak', 'fail');
    expectStatus(r, 'ftp.user-enumeration', 'fail');
    for (const id of ['tls.legacy-protocol', 'tls.cert-expired']) expectStatus(r, id, 'not-applicable');
    // the probe file and directory were removed again
    assert.equal(srv.files.size, 0);
    assert.equal(srv.dirs.size, 0);
    // SECURITY: no data command after the bounce PORT
    const portAt = srv.commands.findIndex((c) => /^(PORT|EPRT) /.test(c));
    assert.ok(portAt >= 0);
    assert.ok(!srv.commands.slice(portAt + 1).some((c) => /^(LIST|NLST|RETR|STOR|APPE|STOU|MLSD)/i.test(c)), srv.commands.join(','));
  });

  void test('writes are not attempted without --allow writes', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 FTP server ready', anonymous: true, writable: true });
    const r = await scan(srv.url);
    expectStatus(r, 'ftp.anonymous-write', 'error');
    assert.equal(r.get('ftp.anonymous-write').reasonCode, 'mode-not-allowed');
    assert.ok(!srv.commands.some((c) => /^(STOR|MKD|DELE|RMD)/i.test(c)));
  });

  void test('hardened explicit FTPS fake: AUTH TLS works although FEAT omits it, nothing to fix on FTP checks', async (t) => {
    const cert = goodCert(t);
    const srv = await startFakeFtp(t, {
      greeting: '220 Service ready',
      feat: ['PBSZ', 'PROT', 'UTF8'],
      explicitTls: { key: cert.key, cert: cert.cert, minVersion: 'TLSv1.2' },
      requireTls: true,
      requireProtP: true,
      users: { alice: 's3cret-pw' },
      cpfrReply: '530 Please login with USER and PASS.',
    });
    const r = await scan(srv.url, { user: 'alice', password: 's3cret-pw', ca: [cert.ca!] });
    for (const id of [
      'ftp.cleartext-only', 'ftp.tls-optional-login', 'ftp.tls-optional-data', 'ftp.ccc-allowed', 'ftp.anonymous-login',
      'ftp.anonymous-read', 'ftp.anonymous-write', 'ftp.bounce', 'ftp.pasv-address-leak', 'ftp.syst-disclosure',
      'ftp.user-enumeration', 'ftp.iis-exposed', 'ftp.iis-known-cves', 'ftp.vsftpd-backdoor', 'ftp.proftpd-backdoor',
      'ftp.proftpd-modcopy-unauth', 'ftp.proftpd-telnet-iac', 'ftp.libopie', 'svc.version-disclosure', 'svc.vulnerable-version',
    ]) {
      expectStatus(r, id, 'pass');
    }
    assert.match(r.get('ftp.cleartext-only').evidence.join(' '), /FEAT lacks AUTH TLS/);
  });

  void test('TLS offered but optional: cleartext USER, PROT C and CCC accepted', async (t) => {
    const cert = goodCert(t);
    const srv = await startFakeFtp(t, {
      greeting: '220 Service ready',
      feat: ['AUTH TLS', 'PBSZ', 'PROT'],
      explicitTls: { key: cert.key, cert: cert.cert },
      users: { alice: 'pw' },
      ccc: true,
    });
    const r = await scan(srv.url, { user: 'alice', password: 'pw', ca: [cert.ca!] });
    expectStatus(r, 'ftp.cleartext-only', 'pass');
    expectStatus(r, 'ftp.tls-optional-login', 'fail');
    expectStatus(r, 'ftp.tls-optional-data', 'fail');
    expectStatus(r, 'ftp.ccc-allowed', 'fail');
  });

  void test('intrusive (--allow intrusive): default credentials and no brute-force protection found', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ready', users: { admin: 'admin' } });
    const r = await scan(srv.url, { allow: ['intrusive'] });
    expectStatus(r, 'auth.default-credentials', 'fail');
    assert.match(r.get('auth.default-credentials').evidence[0]!, /admin/);
    expectStatus(r, 'auth.no-bruteforce-protection', 'fail');
    assert.equal(srv.commands.filter((c) => c.startsWith('PASS ')).length <= 6 + 6 + 2 + 3, true, 'strictly bounded attempts');
  });

  void test('intrusive checks: lockout after 3 failures and no default pair accepted → pass; not run without --allow', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ready', users: { alice: 'long-unique-password' }, maxLoginFails: 3 });
    const r = await scan(srv.url, { allow: ['intrusive'] });
    expectStatus(r, 'auth.default-credentials', 'pass');
    expectStatus(r, 'auth.no-bruteforce-protection', 'pass');
    assert.match(r.get('auth.no-bruteforce-protection').evidence[0]!, /after 3 failed login/);
    const before = srv.commands.length;
    const plain = await scan(srv.url);
    expectStatus(plain, 'auth.default-credentials', 'error');
    assert.equal(plain.get('auth.default-credentials').reasonCode, 'mode-not-allowed');
    const guesses = new Set(['PASS admin', 'PASS password', 'PASS test', 'PASS root', 'PASS guest', 'PASS ftp']);
    assert.ok(!srv.commands.slice(before).some((c) => guesses.has(c)), 'no password guessing without --allow intrusive');
  });

  void test('false positive: an anonymous-only server never asks for a password, so brute-force protection is not judged', async (t) => {
    const srv = await startFakeFtp(t, {
      greeting: '220 ready',
      anonymous: true,
      userReply: (u) => (u === 'anonymous' || u === 'ftp' ? '331 Please specify the password.' : '530 This FTP server is anonymous only.'),
    });
    const r = await scan(srv.url, { allow: ['intrusive'] });
    expectStatus(r, 'auth.no-bruteforce-protection', 'not-applicable');
    assert.match(r.get('auth.no-bruteforce-protection').reason ?? '', /never asked for a password.*anonymous only/);
  });

  void test('false positive: a version in STAT after a credentialed login (vsftpd prints it, nothing hides it) is a note, not a disclosure', async (t) => {
    const cert = goodCert(t);
    const stat = '211-FTP server status:\r\n     Connected to 127.0.0.1\r\n     vsFTPd 3.0.3 - secure, fast, stable\r\n211 End of status';
    const srv = await startFakeFtp(t, { greeting: '220 ready', explicitTls: { key: cert.key, cert: cert.cert }, requireTls: true, users: { bob: 'pw' }, loggedInStat: stat });
    const r = await scan(srv.url, { user: 'bob', password: 'pw', ca: [cert.cert] });
    expectStatus(r, 'svc.version-disclosure', 'pass');
    assert.match(r.get('svc.version-disclosure').evidence.join(' '), /vsFTPd 3\.0\.3.*account holders only/);
    // The same line before login, or after an anonymous login, is seen by anyone: a finding.
    const anon = await startFakeFtp(t, { greeting: '220 ready', anonymous: true, loggedInStat: stat });
    expectStatus(await scan(anon.url), 'svc.version-disclosure', 'fail');
  });

  void test('unreachable target: every check reported, none passed silently', async () => {
    const r = await scan('ftp://127.0.0.1:1');
    assert.equal(r.report.reachable, false);
    assert.equal(r.report.results.length, 44);
    expectStatus(r, 'ftp.anonymous-login', 'error');
    assert.equal(r.get('ftp.anonymous-login').reasonCode, 'unreachable');
    expectStatus(r, 'svc.exposed-service', 'pass');
  });
});
