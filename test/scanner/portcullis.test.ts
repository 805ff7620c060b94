// The scanner pointed at Portcullis itself, as installed (MFA required, defender and connection
// rate on): nothing above info to fix on any listener. Without credentials the one verdict a
// black box cannot settle is ssh.password-auth (it says how to confirm; `portcullis posture`
// settles it from the configuration, test/posture/); with the operator's credentials (FTPS: the
// password with the code appended, as FTPS clients log in) every credentialed check runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PASSWORD, startMfaServer, USER } from '../mfa/helpers.ts';
import { scan, show, type ScanResult } from './helpers/scan.ts';

// Real defaults: startTestServer turns the defender and the connection rate off for protocol
// suites; a scan of our own server must come out clean with both on. The scanner's source is
// 127.0.0.1 and the defender would (rightly) ban a real attacker probing this much, so the
// address is on the safe list, as an operator's scanning host would be.
const INSTALLED = { defender: { enabled: true, safeList: ['127.0.0.1'] }, rateLimits: { connectionsPerSecond: 10 } };

function aboveInfo(r: ScanResult): string[] {
  return r.report.results.filter((x) => x.status === 'fail' && x.severity !== 'info').map(show);
}

test('Portcullis comes out clean: SFTP, explicit and implicit FTPS, without and with credentials', { timeout: 300_000 }, async (t) => {
  const f = await startMfaServer(t, INSTALLED);
  const ca = [readFileSync(`${f.srv.dataDir}/tls/cert.pem`, 'utf8')];
  const urls = [`sftp://127.0.0.1:${f.srv.port('sftp')}`, `ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}`, `ftps://127.0.0.1:${f.srv.port('ftps (implicit)')}`];

  for (const url of urls) {
    const r = await scan(url, { ca });
    assert.equal(r.report.reachable, true, url);
    const left = aboveInfo(r);
    if (url.startsWith('sftp')) {
      assert.equal(left.length, 1, left.join('\n'));
      assert.match(left[0]!, /^ssh\.password-auth: fail .*rerun with --user/);
    } else assert.deepEqual(left, [], url);
    // Nothing silently skipped: every error names its reason (credentials or an opt-in mode).
    for (const e of r.report.results.filter((x) => x.status === 'error')) assert.match(e.reasonCode ?? '', /needs-credentials|mode-not-allowed/, show(e));
  }

  // With credentials: SSH tries the password alone (a first factor only); FTPS logs in with the
  // code appended and runs the data-channel, CCC, bounce and PASV checks.
  const ssh = await scan(urls[0]!, { ca, user: USER, password: PASSWORD });
  assert.deepEqual(aboveInfo(ssh), []);
  assert.equal(ssh.get('ssh.password-auth').status, 'pass', show(ssh.get('ssh.password-auth')));
  for (const url of urls.slice(1)) {
    const r = await scan(url, { ca, user: USER, password: `${PASSWORD}${await f.code()}` });
    assert.deepEqual(aboveInfo(r), [], url);
    for (const id of ['ftp.tls-optional-data', 'ftp.ccc-allowed', 'ftp.bounce', 'ftp.pasv-address-leak']) assert.equal(r.get(id).status, 'pass', show(r.get(id)));
  }
});
