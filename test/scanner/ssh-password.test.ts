// Check 38 ssh.password-auth against Portcullis itself: with the operator's credentials the
// scanner tries the password alone (password method only) and tells a second factor from none.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startTestServer } from '../helpers/server.ts';
import { PASSWORD, startMfaServer, USER } from '../mfa/helpers.ts';
import { scan, show } from './helpers/scan.ts';

void describe('ssh.password-auth with credentials', () => {
  void test('mfa.required and an enrolled user: the password is only a first factor (pass)', async (t) => {
    const { srv } = await startMfaServer(t, { ftps: { enabled: false } });
    const url = `sftp://127.0.0.1:${srv.port('sftp')}`;
    const r = (await scan(url, { user: USER, password: PASSWORD })).get('ssh.password-auth');
    assert.equal(r.status, 'pass', show(r));
    assert.match(r.evidence[0]!, /^password is only a first factor: after it the server required .*keyboard-interactive/);
    // without credentials: today's verdict, plus how to confirm it
    const anon = (await scan(url)).get('ssh.password-auth');
    assert.equal(anon.status, 'fail', show(anon));
    assert.match(anon.evidence.join(' '), /rerun with --user <name> --password-stdin/);
  });

  void test('mfa not required: a password alone completes the login (fail, confirmed)', async (t) => {
    const srv = await startTestServer(t, { ftps: { enabled: false }, mfa: { required: false } });
    await srv.addUser(USER, { password: PASSWORD });
    const url = `sftp://127.0.0.1:${srv.port('sftp')}`;
    const r = (await scan(url, { user: USER, password: PASSWORD })).get('ssh.password-auth');
    assert.equal(r.status, 'fail', show(r));
    assert.match(r.evidence[0]!, /a password alone completed the login \(confirmed\)/);
    // a wrong password confirms nothing: the verdict rests on the offered methods, and says so
    const wrong = (await scan(url, { user: USER, password: 'not the password' })).get('ssh.password-auth');
    assert.equal(wrong.status, 'fail', show(wrong));
    assert.match(wrong.evidence.join(' '), /not confirmed: the password given for alice was refused/);
  });
});
