import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CATALOGUE, fromSystemError, PortcullisError } from './index.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

test('docs/errors.md documents exactly the codes in the catalogue', () => {
  const documented = new Set([...doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
  const coded = new Set(Object.keys(ERROR_CATALOGUE));
  assert.deepEqual([...coded].filter((c) => !documented.has(c)), [], 'codes missing from docs/errors.md');
  assert.deepEqual([...documented].filter((c) => !coded.has(c!)), [], 'codes documented but not in the catalogue');
});

test('every code follows ERR_AREA_WHAT and has a message', () => {
  for (const [code, message] of Object.entries(ERROR_CATALOGUE)) {
    assert.match(code, /^ERR_[A-Z]+(_[A-Z0-9]+)*$/);
    assert.ok(message.length > 5, code);
  }
});

test('system errors map onto the catalogue and keep their cause', () => {
  const cause = Object.assign(new Error('x'), { code: 'ENOENT' });
  const e = fromSystemError(cause);
  assert.equal(e.code, 'ERR_VFS_NOT_FOUND');
  assert.equal(e.cause, cause);
  assert.equal(fromSystemError(Object.assign(new Error('x'), { code: 'EWEIRD' })).code, 'ERR_VFS_IO');
  // no errno: a bug, never disguised as a storage failure
  assert.equal(fromSystemError(new TypeError('x is undefined')).code, 'ERR_INTERNAL');
  assert.equal(fromSystemError('a string').code, 'ERR_INTERNAL');
  assert.equal(fromSystemError(new DOMException('aborted', 'AbortError')).code, 'ERR_VFS_TRANSFER_ABORTED');
  assert.equal(fromSystemError(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' })).code, 'ERR_VFS_TRANSFER_ABORTED');
  assert.equal(fromSystemError(Object.assign(new Error('x'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })).code, 'ERR_VFS_IO');
  const own = new PortcullisError('ERR_VFS_ESCAPE');
  assert.equal(fromSystemError(own), own);
});
