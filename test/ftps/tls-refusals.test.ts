// Every refused TLS handshake on FTPS leaves an audit record (conn.handshake.failed) and a log
// line with the reason and the fix (issue 13 item 2): TLS 1.1, no shared cipher, ALPN, plaintext
// on the implicit port; on the implicit port and after AUTH TLS on the explicit one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../src/audit/events.ts';
import { capture, until } from '../helpers/capture.ts';
import { run } from '../sftp/helpers.ts';
import { requireBinary, startFtps } from './helpers.ts';

type Handshake = Extract<AuditEvent, { type: 'conn.handshake.failed' }>;

const cases: { name: string; args: string[]; reason: RegExp; fix: RegExp }[] = [
  { name: 'TLS 1.1 (openssl s_client -tls1_1)', args: ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], reason: /protocol version too old/, fix: /client too old: upgrade/ },
  { name: 'no shared cipher (openssl s_client -tls1_2 -cipher AES128-SHA)', args: ['-tls1_2', '-cipher', 'AES128-SHA'], reason: /no shared cipher suite/, fix: /ECDHE-RSA-AES128-GCM-SHA256/ },
  { name: 'ALPN http/1.1 (openssl s_client -alpn http/1.1)', args: ['-alpn', 'http/1.1'], reason: /ALPN mismatch: the client asked for http\/1\.1/, fix: /FTP client/ },
];

for (const c of cases) {
  for (const port of ['implicit', 'explicit'] as const) {
    void test(`FTPS ${port}: ${c.name} is refused with an audit record and a log line naming the fix`, async (t) => {
      await requireBinary(t, 'openssl', 'apt-get install openssl');
      const f = await startFtps(t);
      const seen = capture(f);
      const target = ['-connect', `127.0.0.1:${port === 'implicit' ? f.implicitPort : f.explicitPort}`, ...(port === 'explicit' ? ['-starttls', 'ftp'] : [])];
      const r = await run('openssl', ['s_client', ...target, ...c.args], { timeoutMs: 30_000 });
      assert.notEqual(r.code, 0, 'the handshake must fail');
      const e = await until(() => seen.events.find((x): x is Handshake => x.type === 'conn.handshake.failed'), 'conn.handshake.failed');
      assert.equal(e.code, 'ERR_PROTOCOL_TLS_HANDSHAKE');
      assert.equal(e.protocol, 'ftps');
      assert.match(e.reason, c.reason);
      assert.match(e.fix, c.fix);
      assert.ok(e.weakens);
      assert.ok(seen.logs.some((l) => /tls handshake refused/.test(l.msg) && c.reason.test(l.msg)), JSON.stringify(seen.logs));
    });
  }
}

void test('FTPS implicit: curl --tls-max 1.1 is told the client is too old', async (t) => {
  await requireBinary(t, 'curl', 'apt-get install curl');
  const f = await startFtps(t);
  const seen = capture(f);
  const r = await run('curl', ['-sS', '--insecure', '--tlsv1.0', '--tls-max', '1.1', '--ciphers', 'DEFAULT@SECLEVEL=0', `ftps://127.0.0.1:${f.implicitPort}/`], { timeoutMs: 30_000 });
  assert.notEqual(r.code, 0);
  const e = await until(() => seen.events.find((x): x is Handshake => x.type === 'conn.handshake.failed'), 'conn.handshake.failed');
  assert.match(e.reason, /protocol version too old/);
});
