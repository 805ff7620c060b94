// paramiko (Debian's 2.12, under /usr/bin/python3) logging in the ways Ansible, Fabric and
// scripts do. paramiko sends SERVICE_REQUEST ssh-userauth before every authentication attempt;
// unpatched ssh2 disconnected on the second one (patches/ssh2+1.17.0.patch). Each case also
// reads the audit trail: every attempt must have reached the server on ONE connection (a
// refusal that never got to the server does not count as a pass).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { AuditRecord } from '../../src/audit/events.ts';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { totpFromOathtool } from '../mfa/helpers.ts';
import { PASSWORD, requireBinary, run, startSftpFixture, USER, type SftpFixture } from './helpers.ts';

const PYTHON = '/usr/bin/python3'; // Debian's interpreter, where python3-paramiko lives

// One script, one case per argv[1]. Every case ends by listing the home over SFTP (proof of a
// working session) and prints "ok <listing>".
const SCRIPT = `
import os, sys, paramiko, faulthandler
faulthandler.dump_traceback_later(30)
mode = sys.argv[1]
port, user, pw = int(os.environ['PORT']), os.environ['USER_NAME'], os.environ['PASSWORD']
key = lambda name: paramiko.Ed25519Key.from_private_key_file(os.environ[name])
code = lambda: os.environ['CODE']
def client():
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    return c
def transport():
    t = paramiko.Transport(('127.0.0.1', port))
    t.start_client(timeout=20)
    return t
if mode == 'password':
    c = client(); c.connect('127.0.0.1', port, user, password=pw, look_for_keys=False, allow_agent=False, timeout=20); t = c.get_transport()
elif mode == 'wrong-key-then-password':
    c = client(); c.connect('127.0.0.1', port, user, password=pw, pkey=key('WRONG_KEY'), look_for_keys=False, allow_agent=False, timeout=20); t = c.get_transport()
elif mode == 'key':
    c = client(); c.connect('127.0.0.1', port, user, pkey=key('KEY'), look_for_keys=False, allow_agent=False, timeout=20); t = c.get_transport()
elif mode == 'none-then-password':
    t = transport()
    try:
        t.auth_none(user)
        sys.exit('auth_none was accepted')
    except paramiko.BadAuthenticationType as e:
        print('none refused, allowed', ','.join(e.allowed_types))
    t.auth_password(user, pw)
elif mode == 'password-then-code':
    # SSHClient.connect with the password (partial success), then the code by keyboard-interactive.
    c = client(); c.connect('127.0.0.1', port, user, password=pw, look_for_keys=False, allow_agent=False, timeout=20); t = c.get_transport()
    assert not t.is_authenticated(), 'the password alone must not be enough'
    t.auth_interactive(user, lambda title, instr, prompts: [code() for _ in prompts])
elif mode == 'interactive-password-and-code':
    t = transport()
    t.auth_interactive(user, lambda title, instr, prompts: [code() if 'erification' in p else pw for p, _ in prompts])
elif mode == 'key-then-code':
    t = transport()
    left = t.auth_publickey(user, key('KEY'))
    print('after key, allowed', ','.join(left))
    t.auth_interactive(user, lambda title, instr, prompts: [code() for _ in prompts])
else:
    sys.exit('unknown mode ' + mode)
assert t.is_authenticated()
s = paramiko.SFTPClient.from_transport(t)
print('ok', sorted(s.listdir('.')))
t.close()
`;

interface Case {
  srv: SftpFixture['srv'];
  env: NodeJS.ProcessEnv;
}

/** Runs one paramiko case and returns its stdout and the audit records it left (one connection). */
async function login(c: Case, mode: string): Promise<{ stdout: string; records: AuditRecord[] }> {
  const trail = c.srv.server.core.store.audit;
  const before = new Set((await trail.search({ user: USER })).map((r) => JSON.stringify(r)));
  const r = await run(PYTHON, ['-c', SCRIPT, mode], { env: c.env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${mode}: paramiko failed\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^ok \[/m, mode);
  await c.srv.server.core.trail?.flush(); // the trail writer gathers records for a few ms
  const records = (await trail.search({ user: USER })).filter((x) => !before.has(JSON.stringify(x)) && x.type.startsWith('auth.'));
  const connections = new Set(records.map((x) => x.connectionId));
  assert.equal(connections.size, 1, `${mode}: every attempt on one connection: ${JSON.stringify(records)}`);
  return { stdout: r.stdout, records };
}

const summary = (records: AuditRecord[]) =>
  records.map((r) => {
    const x = r as AuditRecord & { method?: string; methods?: string[]; reason?: string };
    return `${r.type}${x.method ? ` ${x.method.split(' ')[0]}` : ''}${x.methods ? ` ${x.methods.join('+')}` : ''}${x.reason ? ` (${x.reason})` : ''}`;
  });

async function keys(t: TestContext, f: SftpFixture): Promise<string> {
  void t;
  const wrong = path.join(f.dir, 'id_wrong');
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'wrong', '-f', wrong]);
  return wrong;
}

void test('paramiko SSHClient/Transport, one factor: password, wrong key then password, key, auth_none first', { timeout: 180_000 }, async (t) => {
  await requireBinary('python3', 'python3-paramiko');
  const f = await startSftpFixture(t);
  const c: Case = { srv: f.srv, env: { PORT: String(f.port), USER_NAME: USER, PASSWORD, KEY: f.key, WRONG_KEY: await keys(t, f) } };

  assert.deepEqual(summary((await login(c, 'password')).records), ['auth.succeeded password']);
  // The second attempt follows a second SERVICE_REQUEST: the refusal of the key is audited,
  // and the password then succeeds on the same connection.
  assert.deepEqual(summary((await login(c, 'wrong-key-then-password')).records), ['auth.failed publickey (bad-key)', 'auth.succeeded password']);
  assert.deepEqual(summary((await login(c, 'key')).records), ['auth.succeeded publickey']);
  const none = await login(c, 'none-then-password');
  assert.match(none.stdout, /none refused, allowed publickey,password,keyboard-interactive/);
  assert.deepEqual(summary(none.records), ['auth.succeeded password']);
});

void test('paramiko with MFA: password then code, keyboard-interactive password and code, key then code', { timeout: 180_000 }, async (t) => {
  await requireBinary('python3', 'python3-paramiko');
  await requireBinary('oathtool', 'oathtool');
  const f = await startSftpFixture(t, { mfa: { required: true } });
  const user = await f.srv.server.core.store.users.require(USER);
  const { secret } = await f.srv.server.core.mfa.enroll(user);
  await f.srv.server.core.mfa.confirm(user, currentCode(secret));
  const env = async (): Promise<NodeJS.ProcessEnv> => ({ PORT: String(f.port), USER_NAME: USER, PASSWORD, KEY: f.key, CODE: await totpFromOathtool(secret) });

  // Each login uses the current code; the replay cache lets the same code in again from the
  // same address (a reconnect), so consecutive cases inside one 30 s step still pass.
  const pwCode = await login({ srv: f.srv, env: await env() }, 'password-then-code');
  assert.deepEqual(summary(pwCode.records), ['auth.partial password', 'auth.mfa.succeeded totp', 'auth.succeeded password+totp']);
  const kbd = await login({ srv: f.srv, env: await env() }, 'interactive-password-and-code');
  assert.deepEqual(summary(kbd.records), ['auth.partial password', 'auth.mfa.succeeded totp', 'auth.succeeded password+totp']);
  const keyCode = await login({ srv: f.srv, env: await env() }, 'key-then-code');
  assert.match(keyCode.stdout, /after key, allowed keyboard-interactive/);
  assert.deepEqual(summary(keyCode.records), ['auth.partial publickey', 'auth.mfa.succeeded totp', 'auth.succeeded publickey+totp']);
});
