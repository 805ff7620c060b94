import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyHeader, V2_SIGNATURE } from './proxy-protocol.ts';

function v2(cmd: number, fam: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  V2_SIGNATURE.copy(h);
  h[12] = 0x20 | cmd;
  h[13] = fam;
  h.writeUInt16BE(body.length, 14);
  return Buffer.concat([h, body]);
}

test('v1: TCP4, TCP6 and UNKNOWN headers; the client data after them is left alone', () => {
  const line = 'PROXY TCP4 192.0.2.7 198.51.100.1 51234 22\r\n';
  const r = parseProxyHeader(Buffer.from(`${line}SSH-2.0-x\r\n`));
  assert.deepEqual(r, { kind: 'header', version: 1, length: line.length, source: { address: '192.0.2.7', port: 51234 } });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 4000 21\r\n')), { kind: 'header', version: 1, length: 44, source: { address: '2001:db8::7', port: 4000 } });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { kind: 'header', version: 1, length: 15, source: null });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.7 198.51')), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PRO')), { kind: 'incomplete' });
});

test('v1: malformed headers are refused with the reason, never guessed at', () => {
  for (const bad of ['PROXY TCP4 192.0.2.7 198.51.100.1 51234\r\n', 'PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n', 'PROXY TCP4 192.0.2.7 198.51.100.1 99999 22\r\n', 'PROXY TCP4 192.0.2.7 198.51.100.1 022 22\r\n', 'PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n', `PROXY TCP4 ${'1'.repeat(120)}`]) {
    assert.equal(parseProxyHeader(Buffer.from(bad)).kind, 'invalid', bad);
  }
  assert.match((parseProxyHeader(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')) as { reason: string }).reason, /no PROXY protocol header/);
  assert.equal(parseProxyHeader(Buffer.from('USER alice\r\n')).kind, 'invalid');
});

test('v2: PROXY over TCP4 and TCP6 (IPv4-mapped made plain), LOCAL, TLVs skipped, bounds', () => {
  const tcp4 = Buffer.from([192, 0, 2, 7, 198, 51, 100, 1, 0xc8, 0x22, 0, 22, 0x04, 0, 1, 0x55]);
  assert.deepEqual(parseProxyHeader(v2(1, 0x11, tcp4)), { kind: 'header', version: 2, length: 32, source: { address: '192.0.2.7', port: 0xc822 } });
  const six = Buffer.alloc(36);
  Buffer.from('20010db8000000000000000000000007', 'hex').copy(six, 0);
  six.writeUInt16BE(4000, 32);
  assert.deepEqual(parseProxyHeader(v2(1, 0x21, six)), { kind: 'header', version: 2, length: 52, source: { address: '2001:db8::7', port: 4000 } });
  const mapped = Buffer.alloc(36);
  Buffer.from('00000000000000000000ffffc0000207', 'hex').copy(mapped, 0);
  assert.equal((parseProxyHeader(v2(1, 0x21, mapped)) as { source: { address: string } }).source.address, '192.0.2.7');
  assert.deepEqual(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0))), { kind: 'header', version: 2, length: 16, source: null });
  assert.deepEqual(parseProxyHeader(v2(1, 0x11, tcp4).subarray(0, 20)), { kind: 'incomplete' });
  assert.equal(parseProxyHeader(v2(1, 0x11, Buffer.alloc(8))).kind, 'invalid', 'truncated addresses');
  assert.equal(parseProxyHeader(v2(1, 0x31, Buffer.alloc(216))).kind, 'invalid', 'AF_UNIX');
  assert.equal(parseProxyHeader(v2(2, 0x11, tcp4)).kind, 'invalid', 'unknown command');
  const huge = v2(1, 0x11, tcp4);
  huge.writeUInt16BE(60_000, 14);
  assert.equal(parseProxyHeader(huge).kind, 'invalid', 'over the size bound');
});
