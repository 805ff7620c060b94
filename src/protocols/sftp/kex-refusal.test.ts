import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LEGACY_ALGORITHMS, selectAlgorithms } from './algorithms.ts';
import { explainKexRefusal, LEGACY_NOTES, parseClientKexInit, type KexOffer } from './kex-refusal.ts';

function kexinit(lists: string[], ident = 'SSH-2.0-test_1.0\r\n'): Buffer {
  const parts = [Buffer.from([20]), Buffer.alloc(16)];
  for (const l of lists) {
    const b = Buffer.from(l, 'latin1');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  }
  parts.push(Buffer.from([0, 0, 0, 0, 0]));
  const payload = Buffer.concat(parts);
  const padding = 8 - ((payload.length + 5) % 8) + 4;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + padding + 1);
  head[4] = padding;
  return Buffer.concat([Buffer.from(ident, 'latin1'), head, payload, Buffer.alloc(padding)]);
}

const LIBSSH2 = ['curve25519-sha256,ecdh-sha2-nistp256,ext-info-c', 'ssh-ed25519,rsa-sha2-256', 'aes128-ctr,aes256-cbc', 'aes128-ctr', 'hmac-sha2-256,hmac-sha1', 'hmac-sha2-256', 'none', 'none', '', ''];

void test('parseClientKexInit reads the identification and the client-to-server lists, byte by byte', () => {
  const buf = kexinit(LIBSSH2);
  for (let n = 0; n < buf.length; n++) assert.equal(parseClientKexInit(buf.subarray(0, n)), undefined, `prefix ${n}`);
  const r = parseClientKexInit(buf);
  assert.equal(r?.ident, 'SSH-2.0-test_1.0');
  assert.deepEqual(r?.offer.mac, ['hmac-sha2-256', 'hmac-sha1']);
  assert.deepEqual(r?.offer.cipher, ['aes128-ctr', 'aes256-cbc']);
});

void test('parseClientKexInit: hostile input is null, never a throw or an unbounded wait', () => {
  const huge = Buffer.concat([Buffer.from('SSH-2.0-x\r\n'), Buffer.from([0x7f, 0xff, 0xff, 0xff, 4])]);
  assert.equal(parseClientKexInit(huge), null);
  const notKexinit = kexinit(LIBSSH2);
  notKexinit[Buffer.from('SSH-2.0-test_1.0\r\n').length + 5] = 21;
  assert.equal(parseClientKexInit(notKexinit), null);
  const lying = kexinit(['a']); // a list length that runs past the payload
  assert.equal(parseClientKexInit(lying), null);
});

void test('explainKexRefusal names the legacy setting and its cost, or says none helps', () => {
  const offer = parseClientKexInit(kexinit(LIBSSH2))!.offer;
  const d = selectAlgorithms([]);
  assert.deepEqual(explainKexRefusal(offer, d.algorithms, []).fix, 'sftp.legacyAlgorithms: [hmac-sha2-256]');
  // already enabled ones are kept in the line
  const cbcOnly: KexOffer = { ...offer, cipher: ['aes128-cbc'] };
  const r = explainKexRefusal(cbcOnly, d.algorithms, []);
  assert.equal(r.category, 'cipher');
  assert.match(r.fix, /upgrade the client/);
  const nist: KexOffer = { ...offer, kex: ['ecdh-sha2-nistp521', 'ecdh-sha2-nistp256', 'ext-info-c'] };
  assert.equal(explainKexRefusal(nist, selectAlgorithms(['hmac-sha2-256']).algorithms, ['hmac-sha2-256']).fix, 'sftp.legacyAlgorithms: [hmac-sha2-256, ecdh-sha2-nistp521]');
  // an AEAD cipher makes the MAC list irrelevant
  const gcm: KexOffer = { ...offer, cipher: ['aes128-gcm@openssh.com'], mac: ['hmac-sha1'], compress: ['zlib'] };
  assert.equal(explainKexRefusal(gcm, d.algorithms, []).category, 'compress');
  for (const a of LEGACY_ALGORITHMS) assert.ok(LEGACY_NOTES[a].weakens.length > 10, a);
});
