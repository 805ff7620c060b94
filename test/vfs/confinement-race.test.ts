// Attack: escape the home by racing symlink swaps against path operations (issue 14.1).
// The attacker has only Vfs operations (what an SFTP user has), from several sessions at
// once. One session plants a symlink whose stored relative target climbs out once it is
// renamed to a shallower folder, then keeps swapping a folder of the home with that link;
// the others open, upload, rename, remove, mkdir, chmod and hard-link through the folder.
// Afterwards the tree outside the home must be exactly as it was, and nothing the attacker
// read or can now read holds the secret. Bounded by time and attempts.
import assert from 'node:assert/strict';
import fsCallbacks, { renameSync } from 'node:fs';
import fs, { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { LocalVfs } from '../../src/vfs/local.ts';

const BUDGET_MS = Number(process.env.RACE_BUDGET_MS ?? 20_000);
const SECRET = 'SECRET-7f3a9c-outside-the-home';
let base: string;
let home: string;
let outside: string;

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const st = await lstat(p);
      out.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.nlink} ${st.isFile() ? await readFile(p, 'utf8') : ''}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

before(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'vfs-race-'));
  home = path.join(base, 'home');
  outside = path.join(base, 'outside');
  await mkdir(path.join(outside, 'inner'), { recursive: true });
  await writeFile(path.join(outside, 'secret.txt'), SECRET, { mode: 0o600 });
  await writeFile(path.join(outside, 'inner', 'keep.txt'), 'keep');
  await mkdir(home);
});
after(() => rm(base, { recursive: true, force: true }));

test('no race between sessions reads, writes, moves, links or deletes outside the home', { timeout: 60_000 }, async () => {
  const before = await snapshot(outside);
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'confinement-race-attacker.ts'), home, outside, String(BUDGET_MS)], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '16' },
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(child.status, 0, child.stderr);
  const { attempts, swaps, seen, codes } = JSON.parse(child.stdout) as { attempts: number; swaps: number; seen: string[]; codes: Record<string, number> };
  console.log(`${attempts} attempts, ${swaps} swaps`, codes);

  // Verdict: the outside is untouched ...
  assert.deepEqual(await snapshot(outside), before, `the tree outside the home changed after ${attempts} attempts`);
  // ... nothing the attacker read held the secret ...
  assert.ok(!seen.some((s) => s.includes(SECRET)), `an open read the secret after ${attempts} attempts`);
  // ... and nothing in the home holds it now (moved or hard-linked in).
  const inHome = await snapshot(home).catch(() => []);
  assert.ok(!inHome.some((line) => line.includes(SECRET)), 'the secret is now inside the home');
  assert.ok(attempts > 100, `too few attempts to mean anything (${attempts})`);
});

/** Linux O_PATH: how LocalVfs holds a folder (the open that resolves its path). */
const O_PATH = 0o10000000;

// The same attack with the race won every time: right after the server resolves a path, the
// "other session" swaps /d for the link (done here by wrapping the step every operation starts
// with: the open that holds the folder, or realpath where a symlink is resolved in full).
// Deterministic, so it shows each operation on its own.
test('an operation whose folder is swapped for an outside link right after resolving stays inside', async () => {
  const h = path.join(base, 'home2');
  await mkdir(path.join(h, 'd', 'inner'), { recursive: true });
  await writeFile(path.join(h, 'd', 'secret.txt'), 'decoy');
  await writeFile(path.join(h, 'd', 'inner', 'keep.txt'), 'decoy');
  await symlink('../outside', path.join(h, 'evil'));
  // A new session per attack: nothing held yet, so each one opens (holds) /d itself.
  let vfs = await LocalVfs.open(h);
  const before = await snapshot(outside);
  const realRealpath = fs.realpath;
  let armed = false;
  const swapAfterResolve = (async (p: string, ...rest: unknown[]) => {
    const out = await (realRealpath as (p: string, ...r: unknown[]) => Promise<string>)(p, ...rest);
    if (armed && out === path.join(h, 'd')) {
      armed = false;
      await rename(path.join(h, 'd'), path.join(h, 'parked'));
      await rename(path.join(h, 'evil'), path.join(h, 'd'));
    }
    return out;
  }) as typeof fs.realpath;
  const restore = async (): Promise<void> => {
    if ((await lstat(path.join(h, 'parked')).catch(() => null)) === null) return;
    await rename(path.join(h, 'd'), path.join(h, 'evil'));
    await rename(path.join(h, 'parked'), path.join(h, 'd'));
  };
  const attacks: [string, () => Promise<unknown>][] = [
    ['rename out of', () => vfs.rename('/d/secret.txt', '/stolen', false)],
    ['rename into', () => vfs.rename('/d/../d/secret.txt', '/d/renamed', false)],
    ['mkdir', () => vfs.mkdir('/d/newdir')],
    ['remove', () => vfs.remove('/d/inner/keep.txt')],
    ['rmdir', () => vfs.rmdir('/d/inner')],
    ['setAttributes', () => vfs.setAttributes('/d/secret.txt', { mode: 0o666 })],
    ['link', () => vfs.link('/d/secret.txt', '/hard')],
    ['symlink', () => vfs.symlink('/', '/d/sym')],
    [
      'upload',
      async () => {
        const up = await vfs.openWrite('/d/planted', 'truncate');
        await up.write(Buffer.from('planted'), 0);
        await up.commit();
      },
    ],
    [
      'resume',
      async () => {
        const up = await vfs.openWrite('/d/secret.txt', 'keep');
        const buf = Buffer.alloc(64);
        const n = await up.read(buf, 0, 64, 0);
        await up.abort();
        if (buf.subarray(0, n).toString().includes(SECRET)) throw new Error('read the secret');
      },
    ],
  ];
  // The folder is held by an open (O_PATH) of its path: the swap follows right after it.
  const realOpen = fsCallbacks.open;
  const swapAfterHold = ((p: string, flags: number, ...rest: unknown[]) => {
    const cb = rest.pop() as (err: Error | null, fd: number) => void;
    (realOpen as (...a: unknown[]) => void)(p, flags, ...rest, (err: Error | null, fd: number) => {
      if (armed && !err && (flags & O_PATH) !== 0 && (p === path.join(h, 'd') || p.startsWith(path.join(h, 'd') + path.sep))) {
        armed = false;
        renameSync(path.join(h, 'd'), path.join(h, 'parked'));
        renameSync(path.join(h, 'evil'), path.join(h, 'd'));
      }
      cb(err, fd);
    });
  }) as typeof fsCallbacks.open;
  fs.realpath = swapAfterResolve;
  fsCallbacks.open = swapAfterHold;
  let swapsDone = 0;
  try {
    for (const [name, attack] of attacks) {
      await vfs.close();
      vfs = await LocalVfs.open(h);
      armed = true;
      await attack().catch((err: Error) => {
        if (err.message === 'read the secret') throw new Error(`${name}: read the secret`);
      });
      if (!armed) swapsDone += 1;
      armed = false;
      await restore();
      assert.deepEqual(await snapshot(outside), before, `${name}: the tree outside the home changed`);
      const inHome = await snapshot(h);
      assert.ok(!inHome.some((line) => line.includes(SECRET)), `${name}: the secret is now inside the home`);
    }
  } finally {
    fs.realpath = realRealpath;
    fsCallbacks.open = realOpen;
    await vfs.close();
  }
  // Every operation met the swap (else this test would show nothing about it).
  assert.equal(swapsDone, attacks.length);
});

// Sessions keep the folders they used held (LocalVfs.holdFolder): the swap now happens between
// two operations, after the first has held /d and before the second uses it. The second must
// see that the folder under /d is no longer the one held, and hold /d anew, as the link it now
// is: refused, and nothing outside changes.
test('a held folder swapped for an outside link between two operations is not used through the old hold', async () => {
  const h = path.join(base, 'home3');
  await mkdir(path.join(h, 'd'), { recursive: true });
  await writeFile(path.join(h, 'd', 'secret.txt'), 'decoy');
  await symlink('../outside', path.join(h, 'evil'));
  const vfs = await LocalVfs.open(h);
  const before = await snapshot(outside);
  const swap = async (): Promise<void> => {
    await rename(path.join(h, 'd'), path.join(h, 'parked'));
    await rename(path.join(h, 'evil'), path.join(h, 'd'));
  };
  const restore = async (): Promise<void> => {
    await rename(path.join(h, 'd'), path.join(h, 'evil'));
    await rename(path.join(h, 'parked'), path.join(h, 'd'));
  };
  const attacks: [string, () => Promise<unknown>][] = [
    ['download', async () => {
      const f = await vfs.openRead('/d/secret.txt');
      const buf = Buffer.alloc(64);
      const n = await f.read(buf, 0, 64, 0);
      await f.close();
      return buf.subarray(0, n).toString();
    }],
    ['upload', async () => {
      const up = await vfs.openWrite('/d/planted', 'truncate');
      await up.write(Buffer.from('planted'), 0);
      await up.commit();
    }],
    ['overwrite', async () => {
      const up = await vfs.openWrite('/d/secret.txt', 'truncate');
      await up.write(Buffer.from('overwritten'), 0);
      await up.commit();
    }],
    ['rename out of', () => vfs.rename('/d/secret.txt', '/stolen', false)],
    ['remove', () => vfs.remove('/d/inner/keep.txt')],
    ['lstat', () => vfs.lstat('/d/secret.txt')],
    ['mkdir', () => vfs.mkdir('/d/newdir')],
  ];
  try {
    for (const [name, attack] of attacks) {
      await vfs.lstat('/d/secret.txt'); // holds /d (the real folder) for the session
      await swap();
      const outcome = await attack().then(
        (v) => (typeof v === 'string' ? v : 'ok'),
        (err: { code?: string }) => String(err.code),
      );
      await restore();
      assert.equal(outcome, 'ERR_VFS_ESCAPE', `${name}: ${outcome}`);
      assert.deepEqual(await snapshot(outside), before, `${name}: the tree outside the home changed`);
    }
    // And the folder still works once it is back (held anew).
    const f = await vfs.openRead('/d/secret.txt');
    await f.close();
  } finally {
    await vfs.close();
  }
});
