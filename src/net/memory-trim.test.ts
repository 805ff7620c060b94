import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Audit } from '../audit/audit.ts';
import { isBuiltin } from 'node:module';
import { loadMallocTrim, MemoryTrim } from './memory-trim.ts';

const closed = (audit: Audit) => audit.emit({ type: 'conn.closed', connectionId: 'c', protocol: 'sftp', remoteAddress: '127.0.0.1', durationMs: 1 });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('one trim a delay after connections close, however many close; none without a close', async () => {
  const audit = new Audit();
  let trims = 0;
  const trim = new MemoryTrim(audit, () => trims++, 30);
  audit.emit({ type: 'conn.accepted', connectionId: 'c', protocol: 'sftp', remoteAddress: '127.0.0.1', localPort: 22 });
  await wait(60);
  assert.equal(trims, 0, 'no close, no trim');
  closed(audit);
  closed(audit);
  closed(audit);
  assert.equal(trims, 0, 'not at once');
  await wait(60);
  assert.equal(trims, 1, 'one trim for the three closes');
  closed(audit);
  await wait(60);
  assert.equal(trims, 2, 'a later close schedules the next one');
  trim.close();
});

test('close() cancels a pending trim and stops listening', async () => {
  const audit = new Audit();
  let trims = 0;
  const trim = new MemoryTrim(audit, () => trims++, 20);
  closed(audit);
  trim.close();
  closed(audit);
  await wait(50);
  assert.equal(trims, 0);
});

test('malloc_trim is reached where node:ffi and glibc are (Node 26 on Linux), without an experimental-feature warning; elsewhere (Node 24: CI\'s second run) trimming is off and nothing breaks', async () => {
  const glibc = process.platform === 'linux' && !!(process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const trim = await loadMallocTrim();
  await wait(10); // warnings are delivered on a later tick
  process.off('warning', onWarning);
  assert.deepEqual(warnings.filter((w) => /FFI/.test(w)), []);
  if (glibc && isBuiltin('node:ffi')) {
    assert.ok(trim, 'node:ffi and libc.so.6 present');
    trim();
  } else assert.equal(trim, null, 'no node:ffi or no glibc: no trim, no error');
});

test('a major collection after a close schedules another trim (memory freed by finalizers)', async () => {
  const audit = new Audit();
  let trims = 0;
  const trim = new MemoryTrim(audit, () => trims++, 20);
  closed(audit);
  await wait(50);
  assert.equal(trims, 1);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  // gc entries reach observers a little later (a few hundred ms on a busy machine)
  for (let i = 0; i < 100 && trims < 2; i++) await wait(20);
  assert.equal(trims, 2, 'the collection after the close');
  gc();
  await wait(500);
  assert.equal(trims, 2, 'a collection with no close since the last one: nothing');
  trim.close();
});
