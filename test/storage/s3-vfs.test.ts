// The S3 backend against a real S3 HTTP server (s3rver) behind the fault-injecting proxy:
// uploads (in order, out of order, spilled to disk), nothing visible before commit, abort,
// throttling, slow completion, partial list pages, and what object storage refuses.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { LIMITS } from '../../src/config/limits.ts';
import { S3Vfs } from '../../src/vfs/s3.ts';
import type { VfsFile } from '../../src/vfs/vfs.ts';
import { makeTempDir } from '../helpers/server.ts';
import { BUCKET, s3Client, startS3, type S3Fixture } from './s3-server.ts';

const MiB = 1024 * 1024;

async function fixture(t: TestContext, user = 'alice'): Promise<{ s3: S3Fixture; vfs: S3Vfs; spoolDir: string }> {
  const s3 = await startS3(t);
  const client = s3Client(s3.endpoint);
  t.after(() => client.destroy());
  const spoolDir = path.join(await makeTempDir(t), 'spool');
  return { s3, vfs: new S3Vfs({ client, bucket: BUCKET, prefix: `users/${user}/`, spoolDir }), spoolDir };
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Reads a whole file with SFTP-style reads of 32 KiB, several in flight. */
async function readAll(file: VfsFile, size: number): Promise<Buffer> {
  const out = Buffer.alloc(size);
  const chunk = 32 * 1024;
  const jobs: Promise<void>[] = [];
  for (let pos = 0; pos < size; pos += chunk) {
    const at = pos;
    jobs.push(file.read(out, at, Math.min(chunk, size - at), at).then((n) => assert.equal(n, Math.min(chunk, size - at))));
    if (jobs.length >= 16) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
  return out;
}

async function streamAll(file: VfsFile, start = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of file.createReadStream(start) as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

void test('S3: uploads of 0 bytes, small and multipart round-trip, in order and out of order', { timeout: 120_000 }, async (t) => {
  const { s3, vfs, spoolDir } = await fixture(t);
  for (const [name, size, shuffle] of [
    ['empty.bin', 0, false],
    ['small.bin', 1000, false],
    ['big.bin', 20 * MiB + 12345, false],
    // Out of order: every 32 KiB write in reverse within windows of 12 MiB, so the spool passes
    // its memory bound and spills to its temp file.
    ['shuffled.bin', 20 * MiB + 7, true],
  ] as const) {
    const data = randomBytes(size);
    const up = await vfs.openWrite(`/${name}`, 'truncate');
    const chunk = 32 * 1024;
    const offsets: number[] = [];
    for (let pos = 0; pos < size; pos += chunk) offsets.push(pos);
    const order = shuffle ? windows(offsets, (12 * MiB) / chunk) : offsets;
    for (const pos of order) assert.equal(await up.write(data.subarray(pos, pos + chunk), pos), Math.min(chunk, size - pos));
    if (shuffle) assert.equal((await readdir(spoolDir)).length, 1, 'out-of-order bytes past the memory bound went to a temp file');
    assert.ok(!(await s3.keys('users/alice/')).includes(`users/alice/${name}`), 'nothing visible before commit');
    await up.commit();
    if (shuffle) assert.deepEqual(await readdir(spoolDir), [], 'the spool file is removed');
    const st = await vfs.stat(`/${name}`);
    assert.equal(st.type, 'file');
    assert.equal(st.size, size);
    const file = await vfs.openRead(`/${name}`);
    assert.equal(sha(await readAll(file, size)), sha(data), `${name}: ranged reads`);
    assert.equal(sha(await streamAll(file)), sha(data), `${name}: stream`);
    if (size > 10) assert.equal(sha(await streamAll(file, 10)), sha(data.subarray(10)), `${name}: stream from an offset`);
    await file.close();
  }
  assert.ok(s3.seen.some((s) => s.startsWith('POST') && s.includes('uploads')), 'big files went multipart');
});

/** Reverses the order inside each window of `n` items. */
function windows<T>(items: T[], n: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < items.length; i += n) out.push(...items.slice(i, i + n).reverse());
  return out;
}

void test('S3: an aborted upload sends AbortMultipartUpload and leaves nothing; the old content stays', { timeout: 60_000 }, async (t) => {
  const { s3, vfs } = await fixture(t);
  const old = randomBytes(100);
  const first = await vfs.openWrite('/f.bin', 'truncate');
  await first.write(old, 0);
  await first.commit();
  const up = await vfs.openWrite('/f.bin', 'truncate');
  const data = randomBytes(LIMITS.s3PartBytes * 2 + 5);
  await up.write(data, 0);
  assert.ok(s3.seen.some((s) => s.includes('partNumber=')), 'parts were sent before the abort');
  await up.abort();
  assert.ok(s3.seen.some((s) => s.startsWith('DELETE') && s.includes('uploadId=')), 'AbortMultipartUpload was sent');
  assert.deepEqual(await s3.keys('users/alice/'), ['users/alice/f.bin']);
  const file = await vfs.openRead('/f.bin');
  assert.equal(sha(await streamAll(file)), sha(old));
  await file.close();
});

void test('S3: throttling (503 SlowDown) is retried by the SDK; a slow completion shows nothing early', { timeout: 60_000 }, async (t) => {
  const { s3, vfs } = await fixture(t);
  s3.faults.slowDown = 2;
  await vfs.mkdir('/d');
  assert.equal(s3.faults.slowDown, 0);
  assert.equal(s3.seen[0], s3.seen[1]);
  assert.equal(s3.seen[1], s3.seen[2], 'the request refused twice was sent a third time');
  assert.equal((await vfs.stat('/d')).type, 'directory');

  s3.faults.completeDelayMs = 1500;
  const data = randomBytes(LIMITS.s3PartBytes + 10);
  const up = await vfs.openWrite('/d/slow.bin', 'truncate');
  await up.write(data, 0);
  let done = false;
  const committing = up.commit().then(() => (done = true));
  // Poll until the completion request has reached the proxy, then look while it is held.
  while (!s3.seen.some((s) => s.startsWith('POST') && s.includes('uploadId='))) await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false);
  assert.deepEqual(await s3.keys('users/alice/d/'), ['users/alice/d/'], 'not visible while completing');
  await committing;
  assert.deepEqual((await s3.keys('users/alice/d/')).sort(), ['users/alice/d/', 'users/alice/d/slow.bin']);
});

void test('S3: listings walk partial pages and never show other users or foreign names', { timeout: 60_000 }, async (t) => {
  const { s3, vfs } = await fixture(t);
  s3.faults.listPageKeys = 2;
  await vfs.mkdir('/dir');
  await vfs.mkdir('/dir/sub');
  for (let i = 0; i < 7; i++) {
    const up = await vfs.openWrite(`/dir/f${i}`, 'truncate');
    await up.write(Buffer.from(`file ${i}`), 0);
    await up.commit();
  }
  // Another user whose name starts like this one's, and a key no client could name.
  const bobby = new S3Vfs({ client: s3Client(s3.endpoint), bucket: BUCKET, prefix: 'users/alicex/', spoolDir: '/nonexistent' });
  const up = await bobby.openWrite('/secret', 'truncate');
  await up.write(Buffer.from('x'), 0);
  await up.commit();
  const names: string[] = [];
  for await (const e of vfs.readdir('/dir')) names.push(`${e.name}:${e.stat.type}:${e.stat.size}`);
  assert.deepEqual(names.sort(), ['f0:file:6', 'f1:file:6', 'f2:file:6', 'f3:file:6', 'f4:file:6', 'f5:file:6', 'f6:file:6', 'sub:directory:0']);
  assert.ok(s3.seen.filter((s) => s.includes('continuation-token')).length >= 3, 'several pages');
  const root: string[] = [];
  for await (const e of vfs.readdir('/')) root.push(e.name);
  assert.deepEqual(root, ['dir']);
  await assert.rejects(vfs.stat('/../alicex/secret'), { code: 'ERR_VFS_NOT_FOUND' });
  await assert.rejects(async () => {
    for await (const _ of vfs.readdir('/missing')) void _;
  }, { code: 'ERR_VFS_NOT_FOUND' });
  await assert.rejects(async () => {
    for await (const _ of vfs.readdir('/dir/f1')) void _;
  }, { code: 'ERR_VFS_NOT_A_DIRECTORY' });
});

void test('S3: rename, folders, and what object storage refuses with a clear code', { timeout: 60_000 }, async (t) => {
  const { s3, vfs } = await fixture(t);
  const up = await vfs.openWrite('/a.txt', 'truncate');
  await up.write(Buffer.from('hello'), 0);
  await up.commit();
  // Resume and append of a non-empty object: refused before anything is sent.
  await assert.rejects(vfs.openWrite('/a.txt', 'keep'), { code: 'ERR_VFS_RESUME_UNSUPPORTED' });
  await assert.rejects(vfs.openWrite('/a.txt', 'append'), { code: 'ERR_VFS_RESUME_UNSUPPORTED' });
  await assert.rejects(vfs.openWrite('/a.txt', 'exclusive'), { code: 'ERR_VFS_EXISTS' });
  await assert.rejects(vfs.openWrite('/nodir/a.txt', 'truncate'), { code: 'ERR_VFS_NOT_FOUND' });
  // A write below what was stored.
  const w = await vfs.openWrite('/b.txt', 'truncate');
  await w.write(Buffer.from('abc'), 0);
  await assert.rejects(w.write(Buffer.from('x'), 1), { code: 'ERR_VFS_WRITE_ORDER' });
  await w.abort();
  // Files: copy + delete.
  await vfs.rename('/a.txt', '/c.txt', false);
  await assert.rejects(vfs.stat('/a.txt'), { code: 'ERR_VFS_NOT_FOUND' });
  assert.equal((await vfs.stat('/c.txt')).size, 5);
  // Folders: an empty one moves; a non-empty one is refused, untouched.
  await vfs.mkdir('/e');
  await vfs.rename('/e', '/e2', false);
  assert.equal((await vfs.stat('/e2')).type, 'directory');
  await vfs.rename('/c.txt', '/e2/c.txt', false);
  await assert.rejects(vfs.rename('/e2', '/e3', false), { code: 'ERR_VFS_DIRECTORY_RENAME_UNSUPPORTED' });
  await assert.rejects(vfs.rmdir('/e2'), { code: 'ERR_VFS_NOT_EMPTY' });
  await assert.rejects(vfs.remove('/e2'), { code: 'ERR_VFS_IS_A_DIRECTORY' });
  await assert.rejects(vfs.mkdir('/e2'), { code: 'ERR_VFS_EXISTS' });
  await vfs.remove('/e2/c.txt');
  await vfs.rmdir('/e2');
  await assert.rejects(vfs.symlink('/x', '/y'), { code: 'ERR_VFS_UNSUPPORTED' });
  await assert.rejects(vfs.link('/x', '/y'), { code: 'ERR_VFS_UNSUPPORTED' });
  await assert.rejects(vfs.statvfs('/'), { code: 'ERR_VFS_UNSUPPORTED' });
  await assert.rejects(vfs.mkdir('/bad\u0007name'), { code: 'ERR_VFS_INVALID_PATH' });
  assert.deepEqual(await s3.keys('users/alice/'), []);
});
