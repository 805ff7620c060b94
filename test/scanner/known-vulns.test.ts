// Check 29 tls.known-vulns: fake vulnerable servers the scanner must find, real servers it must
// not flag (Portcullis itself, explicit and implicit; vsftpd is covered in vsftpd.test.ts), and
// hostile servers that must give a clean pass/error per sub-probe, never a crash or a hang.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startTestServer } from '../helpers/server.ts';
import { startFakeVulnTls, type Hostile, type Vuln } from './helpers/fake-vuln-tls.ts';
import { scan, show } from './helpers/scan.ts';
import type { CheckResult, SubProbeResult } from '../../src/scanner/types.ts';

const SUB_NAMES = ['Heartbleed', 'CCS injection', 'ROBOT', 'POODLE (SSLv3)', 'DROWN (SSLv2)', 'insecure renegotiation', 'Ticketbleed'];

function subProbes(r: CheckResult): Map<string, SubProbeResult> {
  assert.ok(r.subProbes, show(r));
  assert.deepEqual(r.subProbes.map((p) => p.name), SUB_NAMES);
  return new Map(r.subProbes.map((p) => [p.name, p]));
}

const CASES: { vuln: Vuln; name: string; cve: string; evidence: RegExp }[] = [
  { vuln: 'heartbleed', name: 'Heartbleed', cve: 'CVE-2014-0160', evidence: /16403-byte heartbeat record \(3 bytes were sent\)/ },
  { vuln: 'ccs', name: 'CCS injection', cve: 'CVE-2014-0224', evidence: /no unexpected_message alert/ },
  { vuln: 'sslv3', name: 'POODLE (SSLv3)', cve: 'CVE-2014-3566', evidence: /SSLv3 ServerHello with TLS_RSA_WITH_AES_(128|256)_CBC_SHA/ },
  { vuln: 'sslv2', name: 'DROWN (SSLv2)', cve: 'CVE-2016-0800', evidence: /SSLv2 SERVER-HELLO \(3 cipher spec\(s\), 1 of them export-grade/ },
  { vuln: 'no-reneg', name: 'insecure renegotiation', cve: 'CVE-2009-3555', evidence: /no renegotiation_info extension/ },
  { vuln: 'ticketbleed', name: 'Ticketbleed', cve: 'CVE-2016-9244', evidence: /echoed a 32-byte session id/ },
];

void describe('tls.known-vulns', () => {
  for (const c of CASES) {
    void test(`finds ${c.name} on a fake vulnerable server`, async (t) => {
      const leak = Buffer.from('SECRET-MEMORY-CONTENT ');
      const srv = await startFakeVulnTls(t, { vulns: [c.vuln], leak });
      const r = await scan(srv.url);
      const kv = r.get('tls.known-vulns');
      assert.equal(kv.status, 'fail', show(kv));
      assert.equal(kv.severity, 'high');
      assert.equal(kv.layer, 'patching');
      const subs = subProbes(kv);
      assert.equal(subs.get(c.name)!.status, 'fail', show(kv));
      assert.match(subs.get(c.name)!.detail, c.evidence);
      assert.ok(subs.get(c.name)!.fix, 'a fix in plain words');
      for (const [name, p] of subs) if (name !== c.name) assert.notEqual(p.status, 'fail', `${name}: ${p.detail}`);
      assert.match(kv.evidence[0]!, new RegExp(`vulnerable to ${c.name.replace(/[()]/g, '\\$&')} \\(${c.cve}`));
      assert.ok(kv.evidence.some((e) => e.includes('Fix: ')), show(kv));
      // SECURITY: leaked bytes are counted, never kept
      assert.doesNotMatch(JSON.stringify(r.report), /SECRET-MEMORY/);
      assert.ok(srv.rawConnections >= 5, `raw probes reached the fake (${srv.rawConnections})`);
      // Check 19 reads the same raw SSLv3/SSLv2 answers: SSL accepted is a high legacy-protocol finding.
      const legacy = r.get('tls.legacy-protocol');
      if (c.vuln === 'sslv3' || c.vuln === 'sslv2') {
        const name = c.vuln === 'sslv3' ? 'SSLv3' : 'SSLv2';
        assert.equal(legacy.status, 'fail', show(legacy));
        assert.equal(legacy.severity, 'high');
        assert.match(legacy.evidence[0]!, new RegExp(`legacy protocol\\(s\\) accepted: .*${name}`));
      } else {
        assert.doesNotMatch(legacy.evidence.join(' '), /SSLv[23]: accepted/, show(legacy));
      }
    });
  }

  void test('every vulnerability at once: all six found, ROBOT not testable (static RSA accepted)', async (t) => {
    const srv = await startFakeVulnTls(t, { vulns: CASES.map((c) => c.vuln) });
    const kv = (await scan(srv.url)).get('tls.known-vulns');
    assert.equal(kv.status, 'fail', show(kv));
    const subs = subProbes(kv);
    for (const c of CASES) assert.equal(subs.get(c.name)!.status, 'fail', `${c.name}: ${subs.get(c.name)!.detail}`);
    // the backend (Node defaults) accepts TLS_RSA_* suites, so ROBOT cannot be ruled out here
    assert.equal(subs.get('ROBOT')!.status, 'error');
    assert.match(subs.get('ROBOT')!.detail, /not testable here.*testssl\.sh --robot/);
  });

  void test('the same fake without vulnerabilities passes, each sub-probe saying why', async (t) => {
    const srv = await startFakeVulnTls(t, {});
    const kv = (await scan(srv.url)).get('tls.known-vulns');
    assert.equal(kv.status, 'pass', show(kv));
    const subs = subProbes(kv);
    for (const name of ['Heartbleed', 'CCS injection', 'POODLE (SSLv3)', 'DROWN (SSLv2)', 'insecure renegotiation']) assert.equal(subs.get(name)!.status, 'pass', `${name}: ${subs.get(name)!.detail}`);
    assert.equal(kv.evidence.length, SUB_NAMES.length + 1);
    assert.match(kv.evidence[0]!, /^no known vulnerability found \(not vulnerable: Heartbleed, CCS injection, .*; not tested: ROBOT\)$/);
    assert.match(kv.evidence.join('\n'), /ROBOT .*: not tested: static-RSA key exchange is accepted/);
  });

  void test('Portcullis itself (explicit and implicit FTPS) is not flagged', async (t) => {
    const srv = await startTestServer(t, { sftp: { enabled: false } });
    for (const url of [`ftp://127.0.0.1:${srv.port('ftps (explicit)')}`, `ftps://127.0.0.1:${srv.port('ftps (implicit)')}`]) {
      const kv = (await scan(url)).get('tls.known-vulns');
      assert.equal(kv.status, 'pass', `${url}: ${show(kv)}`);
      const subs = subProbes(kv);
      for (const name of ['Heartbleed', 'CCS injection', 'POODLE (SSLv3)', 'DROWN (SSLv2)', 'insecure renegotiation', 'Ticketbleed']) {
        assert.equal(subs.get(name)!.status, 'pass', `${url} ${name}: ${subs.get(name)!.detail}`);
      }
      assert.doesNotMatch(kv.evidence.join('\n'), /not tested/, show(kv));
      // ECDHE-only: ROBOT is not possible
      assert.equal(subs.get('ROBOT')!.status, 'not-applicable', subs.get('ROBOT')!.detail);
    }
  });

  void test('a silent server cannot hold the scan past the target deadline', async (t) => {
    const srv = await startFakeVulnTls(t, { hostile: 'silent' });
    const started = Date.now();
    const r = await scan(srv.url, { timeoutMs: 20_000, targetTimeoutMs: 3000 });
    assert.ok(Date.now() - started < 6000, `returned after ${Date.now() - started} ms`);
    const kv = r.get('tls.known-vulns');
    assert.equal(kv.status, 'error', show(kv));
    assert.equal(kv.reasonCode, 'timeout');
  });

  const HOSTILE: Hostile[] = ['garbage', 'absurd-record', 'absurd-handshake', 'absurd-session-id', 'truncated', 'flood', 'silent'];
  for (const hostile of HOSTILE) {
    void test(`hostile server (${hostile}): clean pass/error per sub-probe, no crash, no hang`, async (t) => {
      const srv = await startFakeVulnTls(t, { hostile });
      const started = Date.now();
      const r = await scan(srv.url, { timeoutMs: 1500 });
      const kv = r.get('tls.known-vulns');
      assert.ok(kv.status === 'error' || kv.status === 'pass', show(kv));
      const subs = subProbes(kv);
      for (const [name, p] of subs) {
        assert.ok(['error', 'pass', 'not-applicable'].includes(p.status), `${name}: ${p.status} ${p.detail}`);
        assert.ok(p.detail.length > 0 && p.detail.length < 600, `${name}: bounded detail`);
      }
      if (hostile !== 'silent') assert.match(kv.evidence.join('\n'), /not tested: could not run: .*(malformed|not a TLS record|more than|above|inside a record)/, show(kv));
      if (hostile === 'silent') assert.match(kv.evidence.join('\n'), /before the timeout/);
      assert.ok(Date.now() - started < 30_000, 'bounded in time');
      // the scan carried on: other checks still decided
      assert.notEqual(r.get('tls.cert-expired').status, 'error', show(r.get('tls.cert-expired')));
    });
  }
});
