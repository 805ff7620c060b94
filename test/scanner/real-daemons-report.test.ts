// One `portcullis scan` run over several real daemons with weak settings (vsftpd and OpenSSH from
// Debian's packages) writes complete reports in all four formats.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CATALOGUE } from '../../src/scanner/catalogue.ts';
import type { ScanReport } from '../../src/scanner/types.ts';
import { tempDir, weakCert } from './helpers/certs.ts';
import { startSshd } from './helpers/sshd.ts';
import { startVsftpd } from './helpers/vsftpd.ts';
import { schemaValidate } from './sarif-validate.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function scanCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/scanner/run.ts', 'scan', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

void describe('real daemons, one run, four formats', () => {
  void test('vsftpd and OpenSSH with weak settings: JSON, SARIF, text and HTML all complete', async (t) => {
    const cert = weakCert(t, { expired: true, bits: 2048, md: 'sha256' });
    const ftp = await startVsftpd(t, ['anonymous_enable=NO', 'local_enable=YES', 'ssl_enable=YES', 'force_local_logins_ssl=NO', 'force_local_data_ssl=NO', 'ssl_tlsv1=YES', 'ssl_ciphers=ALL:@SECLEVEL=0'], cert);
    const ssh = await startSshd(t, [['rsa', 1024], ['ed25519']], [
      'RequiredRSASize 1024', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no',
      'KexAlgorithms curve25519-sha256,diffie-hellman-group14-sha1', 'Ciphers aes128-ctr,aes128-cbc', 'MACs hmac-sha2-256-etm@openssh.com,hmac-sha1',
    ]);
    const dir = tempDir(t, 'pcscan-formats-');
    const out = (format: string): string => path.join(dir, `report.${format}`);
    for (const format of ['json', 'sarif', 'text', 'html']) {
      const r = await scanCli([ftp, ssh, '--format', format, '--output', out(format), '--timeout', '5']);
      assert.equal(r.code, 0, `${format}: exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('scanned ')).length, 2, r.stderr);
    }
    const json = JSON.parse(readFileSync(out('json'), 'utf8')) as ScanReport;
    assert.deepEqual(json.targets.map((x) => x.target.url), [ftp, ssh]);
    for (const target of json.targets) {
      assert.equal(target.reachable, true);
      assert.equal(target.results.length, CATALOGUE.length);
      assert.equal(target.scannerError, undefined);
    }
    const [f, s] = json.targets;
    const status = (t: typeof f, id: string): string => t!.results.find((x) => x.id === id)!.status;
    for (const id of ['ftp.tls-optional-login', 'tls.legacy-protocol', 'tls.cert-expired', 'svc.version-disclosure']) assert.equal(status(f, id), 'fail', id);
    for (const id of ['ssh.weak-kex', 'ssh.weak-cipher', 'ssh.weak-mac', 'ssh.small-hostkey', 'ssh.password-auth']) assert.equal(status(s, id), 'fail', id);

    const sarif = JSON.parse(readFileSync(out('sarif'), 'utf8')) as { runs: { results: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] };
    assert.deepEqual(schemaValidate(sarif), []);
    const failures = json.targets.flatMap((x) => x.results.filter((r) => r.status === 'fail').map((r) => `${x.target.url} ${r.id}`)).sort();
    assert.deepEqual(sarif.runs[0]!.results.map((r) => `${r.locations[0]!.physicalLocation.artifactLocation.uri} ${r.ruleId}`).sort(), failures);

    const text = readFileSync(out('text'), 'utf8');
    assert.ok(text.includes(`== ${ftp}`) && text.includes(`== ${ssh}`));
    assert.match(text, /SSH server offers weak key exchange algorithms \[ssh\.weak-kex\]/);
    assert.match(text, /fix \(OpenSSH\): sshd_config: KexAlgorithms/);
    assert.match(text, /fix \(vsftpd\): vsftpd\.conf: force_local_logins_ssl=YES/);
    assert.match(text, /^Summary: 2 target\(s\)/m);

    const html = readFileSync(out('html'), 'utf8');
    assert.ok(html.includes(ftp) && html.includes(ssh));
    assert.equal((html.match(/<table class="summary">/g) ?? []).length, 2);
    assert.ok(html.trimEnd().endsWith('</html>'));
  });
});
