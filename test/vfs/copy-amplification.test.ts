// Attack (issue 14.5): uploads opened without truncation on a big existing file each copy it
// before any byte arrives. The copies one home may hold open at once are bounded
// (LIMITS.resumeCopyBytesPerHome); further opens are refused with a clear code and the old
// file is untouched.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { LIMITS } from '../../src/config/limits.ts';
import { isPortcullisError } from '../../src/errors/index.ts';
import type { VfsUpload } from '../../src/vfs/vfs.ts';
import { LocalVfs } from '../../src/vfs/local.ts';

const SIZE = 300 * 1024 * 1024;
let base: string;
let home: string;
before(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'vfs-copy-'));
  home = path.join(base, 'home');
  await mkdir(home);
  await writeFile(path.join(home, 'big.bin'), '');
  await truncate(path.join(home, 'big.bin'), SIZE); // sparse: cheap to make, not always to copy
});
after(() => rm(base, { recursive: true, force: true }));

test('16 resumed uploads of a big file at once copy at most the per-home bound', { timeout: 120_000 }, async () => {
  const sessions = await Promise.all(Array.from({ length: 16 }, () => LocalVfs.open(home)));
  const results = await Promise.allSettled(sessions.map((v) => v.openWrite('/big.bin', 'keep')));
  const opened = results.filter((r): r is PromiseFulfilledResult<VfsUpload> => r.status === 'fulfilled').map((r) => r.value);
  const refused = results.filter((r) => r.status === 'rejected').map((r) => (isPortcullisError(r.reason) ? r.reason.code : String(r.reason)));
  const bound = Math.floor(LIMITS.resumeCopyBytesPerHome / SIZE);
  try {
    assert.ok(opened.length <= bound, `${opened.length} copies of ${SIZE} bytes held at once (bound ${bound})`);
    assert.ok(opened.length >= 1, 'a resumed upload within the bound still works');
    assert.deepEqual([...new Set(refused)], ['ERR_VFS_COPY_LIMIT']);
    // Finishing one frees its share.
    await opened.pop()!.abort();
    const again = await sessions[0]!.openWrite('/big.bin', 'keep');
    opened.push(again);
  } finally {
    await Promise.all(opened.map((u) => u.abort()));
  }
  assert.deepEqual((await readdir(home)).sort(), ['big.bin'], 'no temporary file left');
});
