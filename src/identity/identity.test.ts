import assert from 'node:assert/strict';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { parseSshKey } from '../auth/public-keys.ts';
import { generateHostKeyPair } from './identity.ts';

test('ssh2 generates well-formed ed25519 keys (patch part 5): one in 256 starts with a zero byte, which its generator used to cut off', () => {
  // 2,000 keys: without the patch, the chance that none starts with a zero byte is 0.04 %.
  for (let i = 0; i < 2000; i++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    const pub = parseSshKey(pair.public);
    const priv = ssh2.utils.parseKey(pair.private);
    assert.ok(pub && !(priv instanceof Error) && priv.isPrivateKey(), `key ${i}: ${pair.public}`);
    assert.equal(Buffer.from(pair.public.split(' ')[1]!, 'base64').readUInt32BE(15), 32, `key ${i}: a 32-byte public key`);
  }
});

test('a generated host key parses, signs and verifies', () => {
  for (const type of ['ed25519', 'rsa'] as const) {
    const pair = generateHostKeyPair(type);
    const key = parseSshKey(pair.private);
    assert.ok(key && key.isPrivateKey(), type);
    assert.ok(!(ssh2.utils.parseKey(pair.private) instanceof Error), `${type}: ssh2 itself reads it`);
  }
});
