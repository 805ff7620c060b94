// ssh2's native crypto binding (OpenSSL, in-place encryption) must be what serves SFTP: without
// it ssh2 falls back to JavaScript ciphers silently, at ~1.3-1.6× the server CPU per GB
// (patches/README.md, ssh2 part 3). The binding is built by ssh2's install script and, on Node
// 26, only after patches/ssh2+1.17.0.patch: `postinstall` rebuilds it.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);

test('ssh2 loads its native crypto binding (built by postinstall after the patch)', () => {
  const crypto = require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean };
  assert.equal(crypto.bindingAvailable, true, 'ssh2 crypto binding missing: run `npm rebuild ssh2` and read its build log');
});
