// Every refused SSH handshake or login leaves an audit record and a log line saying why and what
// would fix it (issue 13 item 2): curl/libssh2 1.10 (no -etm MAC), OpenSSH offering only CBC,
// an ssh2 client offering only a NIST-curve key exchange, a client with no usable auth method.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import type { AuditEvent } from '../../src/audit/events.ts';
import { capture, until } from '../helpers/capture.ts';
import type { SftpFixture } from './helpers.ts';
import { PASSWORD, requireBinary, run, SSH_OPTS, startSftpFixture, USER } from './helpers.ts';

type Handshake = Extract<AuditEvent, { type: 'conn.handshake.failed' }>;
const handshakeFailed = (events: AuditEvent[]) => events.find((e): e is Handshake => e.type === 'conn.handshake.failed');

void test('curl (libssh2 1.10) is refused with the setting that admits it, then admitted with it on', async (t) => {
  await requireBinary('curl', 'curl');
  const refused = await startSftpFixture(t);
  const seen = capture(refused);
  const url = (f: SftpFixture) => `sftp://127.0.0.1:${f.port}/~/`;
  const r = await run('curl', ['-sS', '--insecure', '-u', `${USER}:${PASSWORD}`, url(refused)]);
  assert.notEqual(r.code, 0, 'curl must fail with the default algorithms');
  const e = await until(() => handshakeFailed(seen.events), 'conn.handshake.failed');
  assert.equal(e.code, 'ERR_PROTOCOL_NO_COMMON_ALGORITHM');
  assert.match(e.client ?? '', /libssh2_1\.10/);
  assert.match(e.reason, /mac/);
  assert.equal(e.fix, 'sftp.legacyAlgorithms: [hmac-sha2-256]');
  assert.match(e.weakens, /encrypt-and-MAC/);
  assert.ok((e.offered?.mac as string[]).includes('hmac-sha2-256'));
  assert.deepEqual(e.ours?.mac, ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com']);
  for (const k of ['kex', 'serverHostKey', 'cipher', 'compress']) assert.ok(Array.isArray(e.offered?.[k]), k);
  const line = seen.logs.find((l) => /ssh key exchange refused/.test(l.msg));
  assert.ok(line, 'an info log line');
  assert.match(line.msg, /sftp\.legacyAlgorithms: \[hmac-sha2-256\]/);

  const admitted = await startSftpFixture(t, { sftp: { legacyAlgorithms: ['hmac-sha2-256'] } });
  const ok = await run('curl', ['-sS', '--insecure', '-u', `${USER}:${PASSWORD}`, url(admitted)]);
  assert.equal(ok.code, 0, ok.stderr);
});

void test('OpenSSH offering only aes128-cbc: refused, told no setting helps (upgrade the client)', async (t) => {
  await requireBinary('ssh', 'openssh-client');
  const f = await startSftpFixture(t);
  const seen = capture(f);
  const r = await run('ssh', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'Ciphers=aes128-cbc', '-p', String(f.port), `${USER}@127.0.0.1`, 'true']);
  assert.notEqual(r.code, 0);
  const e = await until(() => handshakeFailed(seen.events), 'conn.handshake.failed');
  assert.match(e.client ?? '', /^SSH-2\.0-OpenSSH/);
  assert.match(e.reason, /cipher/);
  assert.deepEqual(e.offered?.cipher, ['aes128-cbc']);
  assert.match(e.fix, /upgrade the client/);
  assert.ok(seen.logs.some((l) => /ssh key exchange refused/.test(l.msg) && /upgrade/.test(l.msg)));
});

void test('an ssh2 client offering only NIST-curve key exchange is told the legacy setting', async (t) => {
  const f = await startSftpFixture(t);
  const seen = capture(f);
  const client = new ssh2.Client();
  const failed = new Promise<Error>((resolve) => client.on('error', resolve));
  client.connect({ host: '127.0.0.1', port: f.port, username: USER, password: PASSWORD, algorithms: { kex: ['ecdh-sha2-nistp384'] } });
  await failed;
  client.end();
  const e = await until(() => handshakeFailed(seen.events), 'conn.handshake.failed');
  assert.match(e.client ?? '', /ssh2js/);
  assert.equal(e.fix, 'sftp.legacyAlgorithms: [ecdh-sha2-nistp384]');
  assert.match(e.weakens, /NIST P-384/);
  await new Promise((r) => setTimeout(r, 200)); // a second record would follow at once
  assert.equal(seen.events.filter((x) => x.type === 'conn.handshake.failed').length, 1, 'one record per refusal');
});

void test('a client that offers only methods we do not accept is audited with what it tried and what we accept', async (t) => {
  await requireBinary('ssh', 'openssh-client');
  const f = await startSftpFixture(t);
  const seen = capture(f);
  const r = await run('ssh', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=hostbased', '-p', String(f.port), `${USER}@127.0.0.1`, 'true']);
  assert.notEqual(r.code, 0);
  const e = await until(() => seen.events.find((x): x is Extract<AuditEvent, { type: 'auth.method.refused' }> => x.type === 'auth.method.refused'), 'auth.method.refused');
  assert.equal(e.code, 'ERR_AUTH_NO_COMMON_METHOD');
  assert.equal(e.user, USER);
  assert.deepEqual(e.tried, ['none']);
  assert.deepEqual(e.accepted, ['publickey', 'password', 'keyboard-interactive']);
  assert.match(e.fix, /publickey|password/);
  assert.ok(seen.logs.some((l) => /no authentication method in common/.test(l.msg)));
});
