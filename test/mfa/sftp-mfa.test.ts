// MFA over SFTP with real clients: OpenSSH sftp (key + code; keyboard-interactive password then
// code, both through SSH_ASKPASS with oathtool), paramiko (auth_interactive), the ssh2 client.
// And the attacks: key alone, password alone, no code, a wrong code, an expired code, a replay
// from another address, a recovery code used twice.
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { PASSWORD, requireBinary, run, sftpBatch, SSH_OPTS, startSftpFixture, USER, type SftpFixture } from '../sftp/helpers.ts';
import { ssh2PasswordAndCode, totpFromOathtool } from './helpers.ts';

interface Fixture extends SftpFixture {
  secret: string;
  recovery: string[];
}

async function start(t: TestContext): Promise<Fixture> {
  const f = await startSftpFixture(t, { mfa: { required: true } });
  const user = await f.srv.server.core.store.users.require(USER);
  const { secret } = await f.srv.server.core.mfa.enroll(user);
  const recovery = await f.srv.server.core.mfa.confirm(user, currentCode(secret));
  return { ...f, secret, recovery };
}

/** SSH_ASKPASS answering "Password:" with the password and "Verification code:" with `code` ("oathtool": compute it). */
async function askpassWithCode(f: Fixture, code: string, password = PASSWORD): Promise<NodeJS.ProcessEnv> {
  const file = path.join(f.dir, `askpass-mfa-${Math.random().toString(36).slice(2)}.sh`);
  const answer = code === 'oathtool' ? `oathtool --totp -b ${f.secret}` : `printf '%s\\n' '${code}'`;
  await writeFile(file, `#!/bin/sh\ncase "$1" in\n  *erification*) ${answer} ;;\n  *) printf '%s\\n' '${password}' ;;\nesac\n`);
  await chmod(file, 0o700);
  return { SSH_ASKPASS: file, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'x' };
}

function sftpArgs(f: Fixture, methods: string, withKey: boolean): string[] {
  return [...SSH_OPTS, '-o', `PreferredAuthentications=${methods}`, '-o', 'NumberOfPasswordPrompts=1', ...(withKey ? ['-o', 'IdentitiesOnly=yes', '-i', f.key] : ['-o', 'PubkeyAuthentication=no']), '-P', String(f.port), `${USER}@127.0.0.1`];
}

test('OpenSSH sftp: key + code, and keyboard-interactive password then code, through SSH_ASKPASS', { timeout: 120_000 }, async (t) => {
  await requireBinary('oathtool', 'oathtool');
  const f = await start(t);
  const keyAndCode = await run('sftp', sftpArgs(f, 'publickey,keyboard-interactive', true), { env: await askpassWithCode(f, 'oathtool'), input: 'mkdir key-and-code\nls\nbye\n' });
  assert.equal(keyAndCode.code, 0, keyAndCode.stderr);
  assert.match(keyAndCode.stdout, /key-and-code/);
  const kbd = await run('sftp', sftpArgs(f, 'keyboard-interactive', false), { env: await askpassWithCode(f, 'oathtool'), input: 'ls\nbye\n' });
  assert.equal(kbd.code, 0, kbd.stderr);
});

test('OpenSSH sftp: the key alone, the password alone, a wrong code and an expired code are all refused', { timeout: 120_000 }, async (t) => {
  const f = await start(t);
  const keyAlone = await sftpBatch(f, ['ls']);
  assert.notEqual(keyAlone.code, 0, 'key alone (batch mode cannot answer the code prompt)');
  const passwordAlone = await run('sftp', sftpArgs(f, 'password', false), { env: await askpassWithCode(f, '000000'), input: 'ls\n' });
  assert.notEqual(passwordAlone.code, 0, 'password alone');
  const wrong = await run('sftp', sftpArgs(f, 'publickey,keyboard-interactive', true), { env: await askpassWithCode(f, '000000'), input: 'ls\n' });
  assert.notEqual(wrong.code, 0, 'wrong code');
  const expired = await run('sftp', sftpArgs(f, 'publickey,keyboard-interactive', true), { env: await askpassWithCode(f, await totpFromOathtool(f.secret, -3)), input: 'ls\n' });
  assert.notEqual(expired.code, 0, 'code from 90 s ago');
  await f.srv.server.core.trail?.flush(); // the trail writer gathers records for a few ms
  const failures = await f.srv.server.core.store.audit.search({ eventPrefix: 'auth.mfa.failed' });
  assert.ok(failures.length >= 2);
});

test('paramiko: auth_interactive answers the password and then the code', { timeout: 120_000 }, async (t) => {
  // (key then code, and password then code over a second SERVICE_REQUEST: test/sftp/paramiko.test.ts)
  await requireBinary('python3', 'python3-paramiko');
  const f = await start(t);
  const script = `
import os, paramiko
def answer(prompt):
    return os.environ['CODE'] if 'erification' in prompt else os.environ['PASSWORD']
t = paramiko.Transport(('127.0.0.1', int(os.environ['PORT'])))
t.start_client(timeout=20)
t.auth_interactive(os.environ['USER_NAME'], lambda title, instr, prompts: [answer(p) for p, _ in prompts])
sftp = paramiko.SFTPClient.from_transport(t)
sftp.mkdir('via-paramiko')
t.close()
t = paramiko.Transport(('127.0.0.1', int(os.environ['PORT'])))
t.start_client(timeout=20)
try:
    t.auth_interactive(os.environ['USER_NAME'], lambda title, instr, prompts: ['000000' if 'erification' in p else os.environ['PASSWORD'] for p, _ in prompts])
    print('wrong code accepted')
except paramiko.AuthenticationException:
    print('ok')
`;
  const r = await run('/usr/bin/python3', ['-c', script], { env: { PORT: String(f.port), USER_NAME: USER, PASSWORD, CODE: currentCode(f.secret) } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
});

const ssh2Login = (f: Fixture, code: string, from = '127.0.0.1') => ssh2PasswordAndCode({ port: f.port, from, user: USER, password: PASSWORD, code });

test('ssh2 client: password + code; a replay from 127.0.0.2 is refused; a recovery code works once', { timeout: 120_000 }, async (t) => {
  const f = await start(t);
  const code = currentCode(f.secret);
  assert.equal(await ssh2Login(f, code), true, 'password + code');
  assert.equal(await ssh2Login(f, code), true, 'the same code again from the same address (a reconnect)');
  assert.equal(await ssh2Login(f, code, '127.0.0.2'), false, 'the same code from another address: a replay');
  await f.srv.server.core.trail?.flush(); // the trail writer gathers records for a few ms
  const replays = await f.srv.server.core.store.audit.search({ eventPrefix: 'auth.mfa.replayed' });
  assert.equal(replays.length, 1);
  assert.equal(await ssh2Login(f, f.recovery[0]!, '127.0.0.3'), true, 'recovery code at the code prompt');
  assert.equal(await ssh2Login(f, f.recovery[0]!, '127.0.0.3'), false, 'recovery code used twice');
});

test('a user who needs MFA but has none is told, after the right password, which command fixes it', { timeout: 60_000 }, async (t) => {
  const f = await start(t);
  await f.srv.addUser('newbie', { password: 'pw-newbie' });
  // LogLevel INFO: OpenSSH prints keyboard-interactive instructions at that level.
  const args = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=INFO', '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-P', String(f.port), 'newbie@127.0.0.1'];
  const r = await run('sftp', args, { env: await askpassWithCode(f, '000000', 'pw-newbie'), input: 'ls\n' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /portcullis mfa enroll newbie/);
});

test('not enrolled, SFTP password auth: OpenSSH and paramiko are told which command fixes it (userauth banner)', { timeout: 60_000 }, async (t) => {
  const f = await start(t);
  await f.srv.addUser('newbie', { password: 'pw-newbie' });
  const args = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=INFO', '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-P', String(f.port), 'newbie@127.0.0.1'];
  const r = await run('sftp', args, { env: await askpassWithCode(f, '000000', 'pw-newbie'), input: 'ls\n' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /portcullis mfa enroll newbie/);
  const py = [
    'import paramiko, socket, sys',
    `s = socket.create_connection(("127.0.0.1", ${f.port}))`,
    't = paramiko.Transport(s); t.start_client(timeout=20)',
    'try:',
    '    t.auth_password("newbie", "pw-newbie")',
    'except paramiko.AuthenticationException:',
    '    pass',
    // get_banner() answers None once the server has disconnected; the handler kept it
    'print("BANNER:", (t.auth_handler.banner or b"").decode())',
  ].join('\n');
  const p = await run('/usr/bin/python3', ['-c', py]);
  assert.match(p.stdout, /BANNER: .*portcullis mfa enroll newbie/, p.stderr);
  // audited as not enrolled (the defender's scoring of it is not this test's business)
  await f.srv.server.core.trail?.flush();
  const failed = await f.srv.server.core.store.audit.search({ user: 'newbie' });
  assert.ok(failed.some((x) => x.type === 'auth.failed' && 'reason' in x && x.reason === 'mfa-not-enrolled' && x.method === 'totp'));
});
