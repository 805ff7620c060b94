// Other real clients: the ssh2 npm client (fastGet/fastPut, parallel out-of-order I/O,
// SETSTAT/FSETSTAT, the extensions), paramiko 2.12 and curl (libssh2).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Stats } from 'ssh2';
import { makeFile, PASSWORD, requireBinary, run, sha256File, startSftpFixture, USER } from './helpers.ts';
import { call, openSftp, sftpErrorCode } from './ssh2-client.ts';

void test('ssh2 client: fastPut/fastGet, parallel out-of-order writes and reads, setstat, extensions', async (t) => {
  const f = await startSftpFixture(t);
  const session = await openSftp(f);
  const { sftp } = session;
  t.after(() => session.close());

  assert.equal(await call<string>((cb) => sftp.realpath('.', cb)), '/');
  const local = path.join(f.dir, 'fast.bin');
  const sha = await makeFile(local, 20 * 1024 * 1024 + 12345);
  await call((cb) => sftp.fastPut(local, 'fast.bin', { concurrency: 64, chunkSize: 255 * 1024 }, cb));
  assert.equal(await sha256File(path.join(f.home, 'fast.bin')), sha);
  await call((cb) => sftp.fastGet('fast.bin', path.join(f.dir, 'fast.down'), { concurrency: 64, chunkSize: 255 * 1024 }, cb));
  assert.equal(await sha256File(path.join(f.dir, 'fast.down')), sha);
  const st = await call<Stats>((cb) => sftp.stat('fast.bin', cb));
  assert.equal(st.size, 20 * 1024 * 1024 + 12345);
  assert.equal(st.isFile(), true);

  // parallel writes at unaligned offsets in reverse order (curl's 30000-byte chunks)
  const data = randomBytes(1_000_003);
  const handle = await call<Buffer>((cb) => sftp.open('ooo.bin', 'w', cb));
  const chunks: [number, number][] = [];
  for (let off = 0; off < data.length; off += 30_000) chunks.push([off, Math.min(30_000, data.length - off)]);
  await Promise.all(chunks.reverse().map(([off, len]) => call((cb) => sftp.write(handle, data, off, len, off, cb))));
  await call((cb) => sftp.close(handle, cb));
  assert.ok((await readFile(path.join(f.home, 'ooo.bin'))).equals(data));
  // parallel reads, out of order
  const rh = await call<Buffer>((cb) => sftp.open('ooo.bin', 'r', cb));
  const back = Buffer.alloc(data.length);
  await Promise.all(chunks.map(([off, len]) => call<number>((cb) => sftp.read(rh, back, off, len, off, (err, n) => cb(err, n)))));
  await call((cb) => sftp.close(rh, cb));
  assert.ok(back.equals(data));

  // SETSTAT: size, mode, times; FSETSTAT on an open upload
  await call((cb) => sftp.setstat('ooo.bin', { size: 1000, mode: 0o600, atime: 1_000_000_000, mtime: 1_200_000_000 }, cb));
  const onDisk = await stat(path.join(f.home, 'ooo.bin'));
  assert.equal(onDisk.size, 1000);
  assert.equal(onDisk.mode & 0o777, 0o600);
  assert.equal(Math.floor(onDisk.mtimeMs / 1000), 1_200_000_000);
  const wh = await call<Buffer>((cb) => sftp.open('fset.bin', 'w', cb));
  await call((cb) => sftp.write(wh, data, 0, 5000, 0, cb));
  await call((cb) => sftp.fsetstat(wh, { size: 100, mode: 0o640, mtime: 1_300_000_000, atime: 1_300_000_000 }, cb));
  await call((cb) => sftp.ext_openssh_fsync(wh, cb));
  await call((cb) => sftp.close(wh, cb));
  const fset = await stat(path.join(f.home, 'fset.bin'));
  assert.equal(fset.size, 100);
  assert.equal(fset.mode & 0o777, 0o640);
  assert.equal(Math.floor(fset.mtimeMs / 1000), 1_300_000_000);

  // RENAME (v3: never replaces) and posix-rename (replaces)
  await call((cb) => sftp.rename('fset.bin', 'a.bin', cb));
  await call((cb) => sftp.rename('a.bin', 'fset.bin', cb));
  assert.equal(await sftpErrorCode(call((cb) => sftp.rename('fset.bin', 'ooo.bin', cb))), 4);
  await call((cb) => sftp.ext_openssh_rename('fset.bin', 'ooo.bin', cb));
  assert.equal((await stat(path.join(f.home, 'ooo.bin'))).size, 100);

  const vfs = await call<{ f_bsize: number; f_blocks: number; f_namemax: number }>((cb) => sftp.ext_openssh_statvfs('/', cb));
  assert.ok(vfs.f_bsize > 0 && vfs.f_blocks > 0, JSON.stringify(vfs));
  assert.equal(vfs.f_namemax, 255);
  await call((cb) => sftp.ext_openssh_hardlink('ooo.bin', 'hard.bin', cb));
  assert.equal((await stat(path.join(f.home, 'hard.bin'))).nlink, 2);

  // ssh2 sends SYMLINK as OpenSSH does (target first)
  await call((cb) => sftp.symlink('ooo.bin', 'sym.bin', cb));
  assert.equal(await readlink(path.join(f.home, 'sym.bin')), 'ooo.bin');
  assert.equal(await call<string>((cb) => sftp.readlink('sym.bin', cb)), 'ooo.bin');
  assert.equal((await call<Stats>((cb) => sftp.lstat('sym.bin', cb))).isSymbolicLink(), true);

  const names = (await call<{ filename: string }[]>((cb) => sftp.readdir('/', cb))).map((e) => e.filename).sort();
  assert.deepEqual(names, ['fast.bin', 'hard.bin', 'ooo.bin', 'sym.bin']);
  await call((cb) => sftp.mkdir('d', cb));
  assert.equal(await sftpErrorCode(call((cb) => sftp.rmdir('/', cb))), 3);
  await call((cb) => sftp.rmdir('d', cb));
  await call((cb) => sftp.unlink('sym.bin', cb));
  assert.equal(await sftpErrorCode(call((cb) => sftp.stat('nope', cb))), 2);
});

void test('paramiko 2.12: password and key login, put/get, listdir, stat, rename both ways, symlink, rmdir', async (t) => {
  await requireBinary('python3', 'python3-paramiko');
  const f = await startSftpFixture(t);
  const local = path.join(f.dir, 'pm.bin');
  const sha = await makeFile(local, 5 * 1024 * 1024 + 3);
  const script = `
import os, sys, hashlib, paramiko, faulthandler
faulthandler.dump_traceback_later(20)
port = int(os.environ['PORT'])
for mode in ('password', 'key'):
    t = paramiko.Transport(('127.0.0.1', port))
    if mode == 'password':
        t.connect(username=os.environ['USER_NAME'], password=os.environ['PASSWORD'])
    else:
        t.connect(username=os.environ['USER_NAME'], pkey=paramiko.Ed25519Key.from_private_key_file(os.environ['KEY']))
    s = paramiko.SFTPClient.from_transport(t)
    d = 'pm-' + mode
    s.mkdir(d)
    s.put(os.environ['LOCAL'], d + '/pm.bin')
    s.get(d + '/pm.bin', os.environ['LOCAL'] + '.' + mode)
    print(mode, 'sha', hashlib.sha256(open(os.environ['LOCAL'] + '.' + mode, 'rb').read()).hexdigest())
    print(mode, 'size', s.stat(d + '/pm.bin').st_size)
    print(mode, 'list', sorted(s.listdir(d)))
    print(mode, 'cwd', s.normalize('.'))
    s.rename(d + '/pm.bin', d + '/r.bin')
    s.posix_rename(d + '/r.bin', d + '/pm.bin')
    s.symlink('pm.bin', d + '/link')
    print(mode, 'readlink', s.readlink(d + '/link'))
    s.remove(d + '/link')
    s.remove(d + '/pm.bin')
    s.rmdir(d)
    s.close(); t.close()
`;
  const r = await run('/usr/bin/python3', ['-c', script], { env: { PORT: String(f.port), USER_NAME: USER, PASSWORD, KEY: f.key, LOCAL: local } });
  assert.equal(r.code, 0, r.stderr);
  for (const mode of ['password', 'key']) {
    assert.match(r.stdout, new RegExp(`${mode} sha ${sha}`));
    assert.match(r.stdout, new RegExp(`${mode} size ${5 * 1024 * 1024 + 3}`));
    assert.match(r.stdout, new RegExp(`${mode} list \\['pm.bin'\\]`));
    assert.match(r.stdout, new RegExp(`${mode} cwd /\\n`));
    assert.match(r.stdout, new RegExp(`${mode} readlink pm.bin`));
  }
  await assert.rejects(lstat(path.join(f.home, 'pm-key')), { code: 'ENOENT' });
});

void test('curl sftp:// (libssh2 1.10: aes-ctr, non-ETM MAC enabled as legacy): upload, download, list, quote commands', async (t) => {
  await requireBinary('curl', 'curl');
  // libssh2 1.10 knows no -etm MAC: the operator enables hmac-sha2-256 explicitly.
  const f = await startSftpFixture(t, { sftp: { legacyAlgorithms: ['hmac-sha2-256'] } });
  const local = path.join(f.dir, 'curl.bin');
  const sha = await makeFile(local, 3 * 1024 * 1024 + 5);
  const base = `sftp://127.0.0.1:${f.port}`;
  const common = ['-sS', '--insecure', '-u', `${USER}:${PASSWORD}`];
  const up = await run('curl', [...common, '--ftp-create-dirs', '-T', local, `${base}/~/cdir/curl.bin`]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(await sha256File(path.join(f.home, 'cdir', 'curl.bin')), sha);
  const down = await run('curl', [...common, '-o', path.join(f.dir, 'curl.down'), `${base}/~/cdir/curl.bin`]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await sha256File(path.join(f.dir, 'curl.down')), sha);
  const list = await run('curl', [...common, `${base}/~/cdir/`]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /curl\.bin/);
  const quote = await run('curl', [...common, '-Q', 'rename /cdir/curl.bin /cdir/moved.bin', '-Q', 'symlink /cdir/moved.bin /cdir/link', '-Q', 'chmod 0600 /cdir/moved.bin', `${base}/~/`]);
  assert.equal(quote.code, 0, quote.stderr);
  assert.equal((await stat(path.join(f.home, 'cdir', 'moved.bin'))).mode & 0o777, 0o600);
  assert.equal((await lstat(path.join(f.home, 'cdir', 'link'))).isSymbolicLink(), true);
  const rm = await run('curl', [...common, '-Q', 'rm /cdir/link', '-Q', 'rm /cdir/moved.bin', '-Q', 'rmdir /cdir', `${base}/~/`]);
  assert.equal(rm.code, 0, rm.stderr);
  await assert.rejects(lstat(path.join(f.home, 'cdir')), { code: 'ENOENT' });
});
