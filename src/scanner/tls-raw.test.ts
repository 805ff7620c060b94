// The raw TLS record layer of check 29: what goes out is well-formed, what comes in is bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS } from './limits.ts';
import {
  encodeClientHello, encodeSsl2ClientHello, ext, HandshakeReader, parseAlert, parseServerHello, parseSsl2ServerHello, RecordReader,
  SCSV_RENEGOTIATION, VERSION,
} from './tls-raw.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function serverHelloBody(o: { sid?: Buffer; sidLen?: number; exts?: Buffer } = {}): Buffer {
  const sid = o.sid ?? Buffer.alloc(32, 7);
  return Buffer.concat([hex('0303'), Buffer.alloc(32, 1), Buffer.from([o.sidLen ?? sid.length]), sid, hex('c02f 00'), ...(o.exts ? [o.exts] : [])]);
}

void test('encodeClientHello: record and handshake lengths add up; SSLv3 hello has no extensions block', () => {
  const h = encodeClientHello({ version: VERSION.tls12, ciphers: [0xc02f, SCSV_RENEGOTIATION], sessionId: Buffer.from([9]), extensions: [ext.heartbeat(), ...ext.serverName('ftp.example.org')] });
  assert.equal(h[0], 22);
  assert.equal(h.readUInt16BE(1), VERSION.tls10);
  assert.equal(h.readUInt16BE(3), h.length - 5);
  assert.equal(h[5], 1);
  assert.equal((h[6]! << 16) | (h[7]! << 8) | h[8]!, h.length - 9);
  assert.equal(h.readUInt16BE(9), VERSION.tls12);
  assert.equal(h[43], 1); // session id length
  assert.equal(h[44], 9);
  assert.equal(h.readUInt16BE(45), 4); // two suites
  assert.deepEqual([h[51], h[52]], [1, 0], 'null compression only');
  assert.equal(55 + h.readUInt16BE(53), h.length);
  assert.ok(h.includes(Buffer.from('ftp.example.org')));
  assert.deepEqual(ext.serverName('127.0.0.1'), [], 'no SNI for an IP address');

  const v3 = encodeClientHello({ version: VERSION.ssl3, ciphers: [0x002f] });
  assert.equal(v3.readUInt16BE(1), VERSION.ssl3);
  assert.equal(v3.length, 5 + 4 + 2 + 32 + 1 + 2 + 2 + 2);
  assert.throws(() => encodeClientHello({ version: VERSION.tls12, ciphers: [1], sessionId: Buffer.alloc(33) }));
});

void test('encodeSsl2ClientHello: 2-byte header, version 2, 7 cipher specs, 16-byte challenge', () => {
  const h = encodeSsl2ClientHello();
  assert.equal(h[0]! & 0x80, 0x80);
  assert.equal(((h[0]! & 0x7f) << 8) | h[1]!, h.length - 2);
  assert.equal(h[2], 1);
  assert.equal(h.readUInt16BE(3), 2);
  assert.equal(h.readUInt16BE(5), 21);
  assert.equal(h.readUInt16BE(9), 16);
});

void test('RecordReader: fragments, absurd lengths, garbage, SSLv2 only when asked, total cap', () => {
  const r = new RecordReader();
  r.push(hex('16 0303 0004 0e00'));
  assert.equal(r.next(), undefined, 'incomplete');
  r.push(hex('0000 15'));
  const rec = r.next();
  assert.ok(rec && !rec.ssl2 && rec.type === 22 && rec.body.length === 4);
  assert.equal(r.next(), undefined);
  assert.equal(r.pending, 1);

  assert.throws(() => {
    const x = new RecordReader();
    x.push(hex('16 0303 ffff'));
    x.next();
  }, /length 65535/);
  assert.throws(() => {
    const x = new RecordReader();
    x.push(Buffer.from('HTTP/1.1 400'));
    x.next();
  }, /not a TLS record/);
  assert.throws(() => {
    const x = new RecordReader();
    x.push(hex('16 0203 0001 00'));
    x.next();
  }, /version/);
  assert.throws(() => {
    const x = new RecordReader();
    x.push(hex('15 0303 0000'));
    x.next();
  }, /empty/);
  const tlsOnly = new RecordReader();
  tlsOnly.push(hex('8004 04000000'));
  assert.throws(() => tlsOnly.next(), /not a TLS record/);
  const v2 = new RecordReader(true);
  v2.push(hex('8003 040000'));
  const r2 = v2.next();
  assert.ok(r2?.ssl2 && r2.body.length === 3);

  const big = new RecordReader();
  assert.throws(() => {
    for (let i = 0; i <= LIMITS.maxTlsProbeBytes / 16384; i++) big.push(Buffer.alloc(16384));
  }, /more than/);
});

void test('HandshakeReader: messages across records, several in one, bounded', () => {
  const h = new HandshakeReader();
  h.push(hex('0e 00'));
  assert.equal(h.next(), undefined);
  h.push(hex('0000 0b000001 aa'));
  assert.equal(h.next()?.type, 14);
  const m = h.next();
  assert.equal(m?.type, 11);
  assert.deepEqual(m?.body, hex('aa'));
  const big = new HandshakeReader();
  big.push(hex('0b ffffff'));
  assert.throws(() => big.next(), /handshake message/);
  assert.throws(() => {
    const x = new HandshakeReader();
    for (let i = 0; i <= LIMITS.maxTlsHandshakeBytes / 16384; i++) x.push(Buffer.alloc(16384));
  }, /handshake flight/);
});

void test('parseServerHello: strict session id, extension and trailing-byte checks', () => {
  const ri = hex('0005 ff01 0001 00');
  const h = parseServerHello(serverHelloBody({ exts: ri }));
  assert.equal(h.version, 0x0303);
  assert.equal(h.cipher, 0xc02f);
  assert.equal(h.sessionId.length, 32);
  assert.deepEqual(h.extensions.get(0xff01), hex('00'));
  assert.equal(parseServerHello(serverHelloBody()).extensions.size, 0, 'no extensions block (SSLv3)');
  assert.throws(() => parseServerHello(serverHelloBody({ sidLen: 33, sid: Buffer.alloc(33) })), /session id of 33/);
  assert.throws(() => parseServerHello(serverHelloBody({ sidLen: 200 })), /session id of 200/);
  assert.throws(() => parseServerHello(serverHelloBody({ exts: hex('0009 ff01 0001 00') })), /needs/);
  assert.throws(() => parseServerHello(serverHelloBody({ exts: hex('0004 ff01 00ff') })), /needs/);
  assert.throws(() => parseServerHello(serverHelloBody({ exts: hex('0008 ff01 0000 ff01 0000') })), /twice/);
  assert.throws(() => parseServerHello(Buffer.concat([serverHelloBody({ exts: ri }), hex('00')])), /trailing/);
  assert.throws(() => parseServerHello(hex('0303 00')), /needs/);
});

void test('parseAlert and parseSsl2ServerHello', () => {
  assert.deepEqual(parseAlert(hex('020a')), { level: 2, description: 10, encrypted: false, length: 2 });
  assert.equal(parseAlert(Buffer.alloc(26)).encrypted, true);
  const ok = parseSsl2ServerHello(Buffer.concat([hex('04 00 01 0002 0002 0003 0010 abcd 010080'), Buffer.alloc(16)]));
  assert.deepEqual(ok, { version: 2, cipherSpecs: [0x010080], certificateBytes: 2 });
  assert.throws(() => parseSsl2ServerHello(hex('04 00 01 0002 ffff 0003 0010')), /needs/);
  assert.throws(() => parseSsl2ServerHello(hex('04 00 01 0002 0000 0004 0010')), /cipher specs length/);
});
