import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CATALOGUE, gatingMode, getCheck } from './catalogue.ts';
import { cleanEvidence, TargetScan, type ScanOptions } from './context.ts';
import { CONTROL_NAMES } from './controls.ts';
import { FIXES } from './fixes.ts';
import { fixFor, productFixEntries } from './product-fixes.ts';
import { FTP_CHECKS } from './ftp-probes.ts';
import { SSH_CHECKS } from './ssh-probes.ts';
import { TLS_CHECKS } from './tls-probes.ts';
import { loadAdvisories } from './advisories.ts';
import { LAYERS } from './types.ts';

void test('catalogue: 44 checks, unique ids, numbered in order, each with a layer and a fix', () => {
  assert.equal(CATALOGUE.length, 44);
  assert.equal(new Set(CATALOGUE.map((c) => c.id)).size, 44);
  CATALOGUE.forEach((c, i) => {
    assert.equal(c.n, i + 1);
    assert.ok(LAYERS.includes(c.layer));
    assert.ok(c.fix.length > 20, c.id);
  });
  assert.deepEqual(Object.keys(FIXES).sort(), CATALOGUE.map((c) => c.id).sort());
});

void test('fixes: generic advice names no product; product advice only for checks of its protocol', () => {
  const productChecks = new Set(['ftp.iis-exposed', 'ftp.iis-known-cves', 'ftp.vsftpd-backdoor', 'ftp.proftpd-backdoor', 'ftp.proftpd-modcopy-unauth', 'ftp.proftpd-telnet-iac', 'ftp.libopie']);
  for (const [id, text] of Object.entries(FIXES)) {
    if (productChecks.has(id)) continue;
    assert.doesNotMatch(text.replace(/\S+@openssh\.com/g, ''), /vsftpd|proftpd|pure-ftpd|\bIIS\b|OpenSSH|Serv-U|sshd_config/i, `${id}: generic fix names a product`);
  }
  const sshProducts = new Set(['openssh', 'mod_sftp']);
  for (const [product, id] of productFixEntries()) {
    const meta = getCheck(id);
    const scheme = sshProducts.has(product) ? 'sftp' : 'ftp';
    assert.ok(meta.protocols.includes(scheme) || product === 'serv-u', `${product}: fix for ${id}, which never applies to its protocol`);
  }
  assert.equal(fixFor('ftp.anonymous-write', { product: 'vsftpd', version: '3.0.3' }).product, 'vsftpd');
  assert.deepEqual(fixFor('ftp.anonymous-write', undefined), { fix: FIXES['ftp.anonymous-write'] });
  assert.deepEqual(fixFor('ftp.anonymous-write', { product: 'Unknown FTPd' }), { fix: FIXES['ftp.anonymous-write'] });
});

void test('catalogue: plain-word titles and control references for every check', () => {
  for (const c of CATALOGUE) {
    assert.match(c.title, /^[A-Za-z]/, c.id);
    assert.doesNotMatch(c.title, /[→`<>]|\/\w+-|\(EC\)|ADH\/|\bCVE-/, `${c.id}: title reads like a spec note: ${c.title}`);
    assert.ok(c.probe.length > 0);
    for (const [framework, refs] of Object.entries(c.controls) as [keyof typeof CONTROL_NAMES, string[]][]) {
      assert.ok(refs.length > 0, `${c.id}: no ${framework} reference`);
      for (const ref of refs) assert.ok(CONTROL_NAMES[framework][ref], `${c.id}: ${framework} ${ref} has no name in CONTROL_NAMES`);
    }
  }
  assert.equal(getCheck('ssh.weak-kex').title, 'SSH server offers weak key exchange algorithms');
  assert.deepEqual(getCheck('auth.no-bruteforce-protection').controls, { pci: ['8.3.4'], nist: ['AC-7'], cis: ['4.1'] });
});

void test('evidence is one clean line: no raw multi-line library errors, control characters shown, long text cut', () => {
  assert.equal(cleanEvidence('Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)'), 'Error: read ECONNRESET | at TCP.onStreamRead (node:internal/stream_base_commons:217:20)');
  assert.equal(cleanEvidence('220 hello\x1b[31m\tworld\x07'), '220 hello\\x1b[31m world\\x07');
  const long = cleanEvidence('x'.repeat(5000));
  assert.ok(long.length <= 600 && long.endsWith('…'));
});

void test('catalogue: every id a probe module reports exists in checks.json', () => {
  for (const id of [...FTP_CHECKS, ...TLS_CHECKS, ...SSH_CHECKS]) assert.doesNotThrow(() => getCheck(id), id);
});

void test('catalogue: severities and gating modes', () => {
  assert.equal(getCheck('tls.legacy-protocol').severity, 'medium');
  assert.equal(getCheck('svc.vulnerable-version').severityText, 'per CVE');
  assert.equal(gatingMode(getCheck('ftp.anonymous-write')), 'writes');
  assert.equal(gatingMode(getCheck('auth.default-credentials')), 'intrusive');
  assert.equal(gatingMode(getCheck('ftp.vsftpd-backdoor')), undefined); // passive part always runs
  assert.equal(gatingMode(getCheck('ftp.tls-optional-data')), undefined);
});

void test('finalize: every undecided check is reported (never a silent pass)', () => {
  const options: ScanOptions = { allow: new Set(), ca: [], timeoutMs: 1000, targetTimeoutMs: 1000, concurrency: 1, advisories: loadAdvisories() };
  const s = new TargetScan({ url: 'ftp://127.0.0.1:21', scheme: 'ftp', host: '127.0.0.1', port: 21 }, options, new AbortController().signal);
  s.pass('ftp.cleartext-only', 'x');
  const rep = s.finalize(new Date());
  assert.equal(rep.results.length, 44);
  const by = new Map(rep.results.map((r) => [r.id, r]));
  assert.equal(by.get('ftp.cleartext-only')!.status, 'pass');
  assert.equal(by.get('ftp.bounce')!.status, 'error');
  assert.equal(by.get('ftp.bounce')!.reasonCode, 'not-implemented');
  assert.equal(by.get('ftp.anonymous-write')!.reasonCode, 'mode-not-allowed');
  assert.equal(by.get('auth.default-credentials')!.reasonCode, 'mode-not-allowed');
  assert.equal(by.get('ssh.weak-kex')!.status, 'not-applicable');
  assert.ok(rep.results.every((r) => r.status !== 'pass' || r.id === 'ftp.cleartext-only'));
});

void test('a failure is never downgraded by a later pass', () => {
  const options: ScanOptions = { allow: new Set(), ca: [], timeoutMs: 1000, targetTimeoutMs: 1000, concurrency: 1, advisories: loadAdvisories() };
  const s = new TargetScan({ url: 'ftp://127.0.0.1:21', scheme: 'ftp', host: '127.0.0.1', port: 21 }, options, new AbortController().signal);
  s.fail('ftp.syst-disclosure', ['SYST: Windows_NT']);
  s.pass('ftp.syst-disclosure', 'after login: generic');
  const r = s.results.get('ftp.syst-disclosure')!;
  assert.equal(r.status, 'fail');
  assert.equal(r.evidence.length, 2);
});
