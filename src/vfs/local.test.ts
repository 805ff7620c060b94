import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPortcullisError, PortcullisError } from '../errors/index.ts';
import { LocalVfs } from './local.ts';

let base: string;
let home: string;
let outside: string;
let vfs: LocalVfs;

before(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'vfs-test-'));
  home = path.join(base, 'home');
  outside = path.join(base, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), 'SECRET');
  await mkdir(path.join(home, 'sub'), { recursive: true });
  await writeFile(path.join(home, 'file.txt'), 'inside');
  await writeFile(path.join(home, 'sub', 'nested.txt'), 'nested');
  await symlink('file.txt', path.join(home, 'link-in'));
  await symlink('../outside/secret.txt', path.join(home, 'link-out'));
  await symlink(path.join(outside, 'secret.txt'), path.join(home, 'link-abs'));
  await symlink('../outside', path.join(home, 'dirlink'));
  await symlink('../../outside/secret.txt', path.join(home, 'sub', 'link-up'));
  await symlink('../outside/missing.txt', path.join(home, 'dangling-out'));
  vfs = await LocalVfs.open(home);
});
after(() => rm(base, { recursive: true, force: true }));

async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (isPortcullisError(err)) return err.code;
    throw err;
  }
}

// [input, expected outcome of stat()]. Any outcome must hold the invariant: the secret is
// never read and nothing is created outside the home.
const HOSTILE: [string, string][] = [
  ['../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['../../etc/passwd', 'ERR_VFS_NOT_FOUND'],
  ['/../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['/../../../../etc/passwd', 'ERR_VFS_NOT_FOUND'],
  ['..\\outside\\secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['..\\..\\etc\\passwd', 'ERR_VFS_NOT_FOUND'],
  ['.\\..\\outside\\secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['sub/..\\..\\..\\outside\\secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['a/../../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['./../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['sub/../../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['/./././../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['/sub/../..', 'ok'],
  ['%2e%2e/outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['%2e%2e%2foutside%2fsecret.txt', 'ERR_VFS_NOT_FOUND'],
  ['..%2foutside%2fsecret.txt', 'ERR_VFS_NOT_FOUND'],
  ['%252e%252e%252foutside', 'ERR_VFS_NOT_FOUND'],
  ['..%5coutside%5csecret.txt', 'ERR_VFS_NOT_FOUND'],
  ['....//outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['.../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['..;/outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['\u2025/outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['\uff0e\uff0e/outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['..\u2215outside\u2215secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['/etc/passwd', 'ERR_VFS_NOT_FOUND'],
  ['//etc/passwd', 'ERR_VFS_NOT_FOUND'],
  ['\\etc\\passwd', 'ERR_VFS_NOT_FOUND'],
  ['C:\\Windows\\win.ini', 'ERR_VFS_NOT_FOUND'],
  ['file:///etc/passwd', 'ERR_VFS_NOT_FOUND'],
  ['~/../outside/secret.txt', 'ERR_VFS_NOT_FOUND'],
  ['~root/.ssh/authorized_keys', 'ERR_VFS_NOT_FOUND'],
  ['file.txt\0.jpg', 'ERR_VFS_INVALID_PATH'],
  ['\0', 'ERR_VFS_INVALID_PATH'],
  ['../outside/secret.txt\0', 'ERR_VFS_INVALID_PATH'],
  ['file.txt\r\nDELE x', 'ERR_VFS_INVALID_PATH'],
  ['link-out', 'ERR_VFS_ESCAPE'],
  ['/link-out', 'ERR_VFS_ESCAPE'],
  ['link-abs', 'ERR_VFS_ESCAPE'],
  ['dirlink', 'ERR_VFS_ESCAPE'],
  ['dirlink/secret.txt', 'ERR_VFS_ESCAPE'],
  ['dirlink/../dirlink/secret.txt', 'ERR_VFS_ESCAPE'],
  ['sub/link-up', 'ERR_VFS_ESCAPE'],
  ['dangling-out', 'ERR_VFS_ESCAPE'],
  ['link-out/../file.txt', 'ok'],
  ['.portcullis-upload-0123', 'ERR_VFS_INVALID_PATH'],
  ['x'.repeat(300), 'ERR_VFS_NAME_TOO_LONG'],
  ['a/'.repeat(200), 'ERR_VFS_NAME_TOO_LONG'],
  ['/'.repeat(5000), 'ERR_VFS_NAME_TOO_LONG'],
];

describe('hostile paths cannot leave the home', () => {
  for (const [input, expected] of HOSTILE) {
    const label = JSON.stringify(input.length > 40 ? `${input.slice(0, 37)}...` : input);
    test(label, async () => {
      assert.equal(await outcome(() => vfs.stat(input)), expected, 'stat');
      // Reading never yields the secret, whatever the path.
      try {
        const f = await vfs.openRead(input);
        const buf = Buffer.alloc(64);
        const n = await f.read(buf, 0, 64, 0);
        await f.close();
        assert.notEqual(buf.subarray(0, n).toString(), 'SECRET');
      } catch (err) {
        assert.ok(isPortcullisError(err), String(err));
      }
      // Listing, writing, creating and renaming never touch anything outside.
      await outcome(async () => {
        for await (const e of vfs.readdir(input)) assert.notEqual(e.name, 'secret.txt');
      });
      await outcome(async () => {
        const u = await vfs.openWrite(input, 'truncate');
        await u.write(Buffer.from('pwned'), 0);
        await u.commit();
      });
      await outcome(() => vfs.mkdir(`${input}-dir`));
      await outcome(() => vfs.rename('file.txt', input, false));
      await outcome(() => vfs.rename(input, 'stolen.txt', false));
      await outcome(() => vfs.setAttributes(input, { mode: 0o777 }));
      await outcome(() => vfs.link(input, 'hardlink'));
      assert.deepEqual((await readdir(outside)).sort(), ['secret.txt']);
      assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'SECRET');
      await writeFile(path.join(home, 'file.txt'), 'inside'); // a path that lands inside may have written it
    });
  }
});

test('symlinks inside the home work; a created link cannot point outside', async () => {
  assert.equal((await vfs.stat('link-in')).size, 'inside'.length);
  assert.equal((await vfs.lstat('link-out')).type, 'symlink');
  await vfs.symlink('../../../../outside/secret.txt', '/sub/evil');
  // The target was normalised inside the home: it points at /outside/secret.txt in the home.
  assert.equal(await readlink(path.join(home, 'sub', 'evil')), '../outside/secret.txt');
  assert.equal(await outcome(() => vfs.stat('/sub/evil')), 'ERR_VFS_NOT_FOUND');
  await vfs.symlink('/file.txt', '/sub/good');
  assert.equal((await vfs.stat('/sub/good')).size, 'inside'.length);
  assert.equal(await vfs.readlink('/sub/good'), '../file.txt');
  assert.equal(await outcome(() => vfs.readlink('link-abs')), 'ERR_VFS_ESCAPE');
  assert.equal(await vfs.realpath('link-in'), '/file.txt');
  assert.equal(await vfs.realpath('/'), '/');
  assert.equal(await outcome(() => vfs.realpath('dirlink')), 'ERR_VFS_ESCAPE');
  // Removing a link that points outside removes the link only.
  await vfs.remove('link-abs');
  assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'SECRET');
});

test('moving a relative link so it would escape makes it refused when used', async () => {
  await vfs.mkdir('/deep');
  await vfs.symlink('/file.txt', '/deep/l'); // stored as ../file.txt
  await vfs.rename('/deep/l', '/l-moved', false); // now ../file.txt from the home = outside
  assert.equal(await outcome(() => vfs.stat('/l-moved')), 'ERR_VFS_ESCAPE');
  assert.equal(await outcome(() => vfs.openRead('/l-moved')), 'ERR_VFS_ESCAPE');
});

describe('uploads are atomic', () => {
  test('an aborted upload leaves no file under the final name', async () => {
    const u = await vfs.openWrite('/new.bin', 'truncate');
    await u.write(Buffer.alloc(1000, 1), 0);
    assert.equal(await outcome(() => vfs.stat('/new.bin')), 'ERR_VFS_NOT_FOUND');
    await u.abort();
    assert.equal(await outcome(() => vfs.stat('/new.bin')), 'ERR_VFS_NOT_FOUND');
    assert.ok(!(await readdir(home)).some((n) => n.startsWith('.portcullis-upload-')), 'temp file removed');
  });

  test('an aborted overwrite keeps the old content; a committed one replaces it', async () => {
    await writeFile(path.join(home, 'keep.txt'), 'old content');
    const u = await vfs.openWrite('/keep.txt', 'truncate');
    await u.write(Buffer.from('new'), 0);
    const names: string[] = [];
    for await (const e of vfs.readdir('/')) names.push(e.name);
    assert.ok(!names.some((n) => n.startsWith('.portcullis-upload-')), 'in-flight upload hidden from listings');
    await u.abort();
    assert.equal(await readFile(path.join(home, 'keep.txt'), 'utf8'), 'old content');
    const v = await vfs.openWrite('/keep.txt', 'truncate');
    await v.write(Buffer.from('new'), 0);
    await v.commit();
    assert.equal(await readFile(path.join(home, 'keep.txt'), 'utf8'), 'new');
  });

  test('resume (keep) writes at an offset over the existing content', async () => {
    await writeFile(path.join(home, 'part.bin'), 'hello ');
    const u = await vfs.openWrite('/part.bin', 'keep');
    await u.write(Buffer.from('world'), 6);
    assert.equal(await readFile(path.join(home, 'part.bin'), 'utf8'), 'hello ', 'old content until commit');
    await u.commit();
    assert.equal(await readFile(path.join(home, 'part.bin'), 'utf8'), 'hello world');
  });

  test('append writes at the end; exclusive refuses an existing file', async () => {
    await writeFile(path.join(home, 'log.txt'), 'a');
    const u = await vfs.openWrite('/log.txt', 'append');
    await u.write(Buffer.from('b'), 0);
    await u.write(Buffer.from('c'), 0);
    await u.commit();
    assert.equal(await readFile(path.join(home, 'log.txt'), 'utf8'), 'abc');
    assert.equal(await outcome(() => vfs.openWrite('/log.txt', 'exclusive')), 'ERR_VFS_EXISTS');
    assert.equal(await outcome(() => vfs.openWrite('/sub', 'truncate')), 'ERR_VFS_IS_A_DIRECTORY');
  });

  test('setuid and sticky bits are never set', async () => {
    await vfs.setAttributes('/file.txt', { mode: 0o4777 });
    assert.equal((await vfs.stat('/file.txt')).mode, 0o777);
  });

  test('the home itself cannot be removed or renamed', async () => {
    assert.equal(await outcome(() => vfs.rmdir('/')), 'ERR_PERMISSION_DENIED');
    assert.equal(await outcome(() => vfs.rename('/', '/x', false)), 'ERR_PERMISSION_DENIED');
    assert.equal(await outcome(() => vfs.rmdir('/..')), 'ERR_PERMISSION_DENIED');
  });
});

test('openWrite: authorize sees whether the name exists (a symlink counts) before anything is created', async () => {
  const seen: [string, boolean][] = [];
  for (const name of ['/file.txt', '/brand-new.txt', '/link-in']) {
    const refused = await outcome(() =>
      vfs.openWrite(name, 'truncate', {
        authorize: (exists) => {
          seen.push([name, exists]);
          throw new PortcullisError('ERR_PERMISSION_DENIED');
        },
      }),
    );
    assert.equal(refused, 'ERR_PERMISSION_DENIED', name);
  }
  assert.deepEqual(seen, [
    ['/file.txt', true],
    ['/brand-new.txt', false],
    ['/link-in', true],
  ]);
  // Nothing was created: no temporary file, no new name.
  assert.deepEqual((await readdir(home)).filter((n) => n.startsWith('.portcullis-upload-') || n === 'brand-new.txt'), []);
  assert.equal(await readFile(path.join(home, 'file.txt'), 'utf8'), 'inside');
});

test('openWrite: createMode gives the new file exactly those permission bits, whatever the umask', async () => {
  for (const mode of [0o600, 0o666, 0o4755]) {
    const u = await vfs.openWrite(`/mode-${mode.toString(8)}.bin`, 'truncate', { createMode: mode });
    await u.write(Buffer.from('x'), 0);
    await u.commit();
    assert.equal((await stat(path.join(home, `mode-${mode.toString(8)}.bin`))).mode & 0o7777, mode & 0o777);
  }
});

test('new names with control characters are refused; existing ones stay reachable', async () => {
  for (const bad of ['/esc\u001b[31m', '/bel\u0007', '/del\u007f', '/c1\u009b']) {
    assert.equal(await outcome(() => vfs.mkdir(bad)), 'ERR_VFS_INVALID_PATH', JSON.stringify(bad));
    assert.equal(await outcome(() => vfs.openWrite(bad, 'truncate')), 'ERR_VFS_INVALID_PATH', JSON.stringify(bad));
    assert.equal(await outcome(() => vfs.rename('/file.txt', bad, false)), 'ERR_VFS_INVALID_PATH', JSON.stringify(bad));
    assert.equal(await outcome(() => vfs.symlink('/file.txt', bad)), 'ERR_VFS_INVALID_PATH', JSON.stringify(bad));
    assert.equal(await outcome(() => vfs.link('/file.txt', bad)), 'ERR_VFS_INVALID_PATH', JSON.stringify(bad));
  }
  await writeFile(path.join(home, 'old\u001bname'), 'old');
  const f = await vfs.openRead('/old\u001bname');
  await f.close();
  await vfs.rename('/old\u001bname', '/old-name', false);
  assert.equal(await readFile(path.join(home, 'old-name'), 'utf8'), 'old');
});
