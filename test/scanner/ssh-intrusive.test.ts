// Checks 42 and 43 over SSH (--allow intrusive): default credentials and brute-force protection,
// against a real OpenSSH sshd and against Portcullis itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { startTestServer } from '../helpers/server.ts';
import { scan, show } from './helpers/scan.ts';
import { startSshd } from './helpers/sshd.ts';

void describe('SSH intrusive checks', () => {
  void test('OpenSSH with MaxAuthTries 6: protected; no default pair works; not run without --allow intrusive', async (t) => {
    const url = await startSshd(t, [['ed25519']], ['PasswordAuthentication yes', 'KbdInteractiveAuthentication no', 'MaxAuthTries 6']);
    const r = await scan(url, { allow: ['intrusive'] });
    const bf = r.get('auth.no-bruteforce-protection');
    assert.equal(bf.status, 'pass', show(bf));
    assert.match(bf.evidence[0]!, /closed the connection at attempt 6 \(after 5 refusals\): Too many authentication failures/);
    const dc = r.get('auth.default-credentials');
    assert.equal(dc.status, 'pass', show(dc));
    assert.match(dc.evidence[0]!, /6 default pairs refused/);
    const plain = await scan(url);
    assert.equal(plain.get('auth.default-credentials').reasonCode, 'mode-not-allowed');
    assert.equal(plain.get('auth.no-bruteforce-protection').reasonCode, 'mode-not-allowed');
  });

  void test('OpenSSH with MaxAuthTries 30: seven failures on one connection is a finding', async (t) => {
    const url = await startSshd(t, [['ed25519']], ['PasswordAuthentication yes', 'KbdInteractiveAuthentication no', 'MaxAuthTries 30']);
    const bf = (await scan(url, { allow: ['intrusive'] })).get('auth.no-bruteforce-protection');
    assert.equal(bf.status, 'fail', show(bf));
    assert.match(bf.evidence[0]!, /7 consecutive failed password logins/);
  });

  void test('public keys only: nothing to guess (not applicable), never a pass or a finding', async (t) => {
    const url = await startSshd(t, [['ed25519']], ['PasswordAuthentication no', 'KbdInteractiveAuthentication no']);
    const r = await scan(url, { allow: ['intrusive'] });
    for (const id of ['auth.default-credentials', 'auth.no-bruteforce-protection']) {
      assert.equal(r.get(id).status, 'not-applicable', show(r.get(id)));
      assert.match(r.get(id).reason ?? '', /no password method offered \(publickey\)/);
    }
  });

  void test('Portcullis with a default pair: a full login without MFA (critical); only a first factor with MFA (high)', async (t) => {
    const open = await startTestServer(t, { ftps: { enabled: false }, mfa: { required: false } });
    await open.addUser('test', { password: 'test' });
    const r = (await scan(`sftp://127.0.0.1:${open.port('sftp')}`, { allow: ['intrusive'] })).get('auth.default-credentials');
    assert.equal(r.status, 'fail', show(r));
    assert.equal(r.severity, 'critical');
    assert.match(r.evidence[0]!, /completed a login for: test/);

    const mfa = await startTestServer(t, { ftps: { enabled: false }, mfa: { required: true } });
    await mfa.addUser('test', { password: 'test' });
    const user = await mfa.server.core.store.users.require('test');
    const { secret } = await mfa.server.core.mfa.enroll(user);
    await mfa.server.core.mfa.confirm(user, currentCode(secret));
    const m = (await scan(`sftp://127.0.0.1:${mfa.port('sftp')}`, { allow: ['intrusive'] })).get('auth.default-credentials');
    assert.equal(m.status, 'fail', show(m));
    assert.equal(m.severity, 'high');
    assert.match(m.evidence[0]!, /accepted as a first factor for: test/);
  });
});
