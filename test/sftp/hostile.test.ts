// Hostile input: traversal through every path-taking request (then the disk is checked),
// symlink and hard-link escapes, malformed packets, refused channel requests, handle and
// connection load. The ssh2 client is the driver; raw bytes go through a subsystem channel.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import type { AuditRecord } from '../../src/audit/events.ts';
import { startSftpFixture, USER, type SftpFixture } from './helpers.ts';
import { call, connectSsh2, openSftp, sftpErrorCode } from './ssh2-client.ts';

const SECRET = 'the victim secret\n';

interface DiskSnapshot {
  entries: string[];
  secretSha: string;
  secretMode: number;
  secretMtime: number;
}

/** A sibling of the user's home that nothing may reach. */
async function plantVictim(f: SftpFixture): Promise<string> {
  const victim = path.join(path.dirname(f.home), 'victim');
  await mkdir(victim, { recursive: true });
  await mkdir(f.home, { recursive: true });
  await writeFile(path.join(victim, 'secret.txt'), SECRET);
  await chmod(path.join(victim, 'secret.txt'), 0o640);
  return victim;
}

async function snapshot(victim: string): Promise<DiskSnapshot> {
  const st = await stat(path.join(victim, 'secret.txt'));
  return {
    entries: (await readdir(victim)).sort(),
    secretSha: createHash('sha256').update(await readFile(path.join(victim, 'secret.txt'))).digest('hex'),
    secretMode: st.mode & 0o7777,
    secretMtime: st.mtimeMs,
  };
}

async function readAll(sftp: SFTPWrapper, p: string): Promise<string> {
  const h = await call<Buffer>((cb) => sftp.open(p, 'r', cb));
  const buf = Buffer.alloc(4096);
  const n = await call<number>((cb) => sftp.read(h, buf, 0, 4096, 0, (err, bytes) => cb(err, bytes)));
  await call((cb) => sftp.close(h, cb));
  return buf.subarray(0, n).toString();
}

const TRAVERSALS = ['../victim/secret.txt', '/../victim/secret.txt', '..\\victim\\secret.txt', '/..//../victim/./secret.txt', 'sub/../../victim/secret.txt', '../../home/victim/secret.txt'];

void test('traversal table: every path-taking request stays in the home (checked on disk)', async (t) => {
  const f = await startSftpFixture(t);
  const victim = await plantVictim(f);
  const before = await snapshot(victim);
  await writeFile(path.join(f.home, 'mine.txt'), 'mine');
  const s = await openSftp(f);
  t.after(() => s.close());
  const { sftp } = s;

  for (const p of TRAVERSALS) {
    const dir = p.replace(/secret\.txt$/, '');
    const ops: [string, () => Promise<unknown>][] = [
      ['stat', () => call((cb) => sftp.stat(p, cb))],
      ['lstat', () => call((cb) => sftp.lstat(p, cb))],
      ['open read', () => readAll(sftp, p)],
      ['open write', () => call<Buffer>((cb) => sftp.open(p, 'w', cb)).then((h) => call((cb) => sftp.close(h, cb)))],
      ['opendir', () => call((cb) => sftp.readdir(dir, cb))],
      ['setstat', () => call((cb) => sftp.setstat(p, { mode: 0o777 }, cb))],
      ['remove', () => call((cb) => sftp.unlink(p, cb))],
      ['mkdir', () => call((cb) => sftp.mkdir(`${dir}newdir`, cb))],
      ['rmdir', () => call((cb) => sftp.rmdir(dir, cb))],
      ['rename from', () => call((cb) => sftp.rename(p, 'stolen.txt', cb))],
      ['rename to', () => call((cb) => sftp.rename('mine.txt', `${dir}planted.txt`, cb))],
      ['posix-rename to', () => call((cb) => sftp.ext_openssh_rename('mine.txt', p, cb))],
      ['readlink', () => call((cb) => sftp.readlink(p, cb))],
      ['symlink link', () => call((cb) => sftp.symlink('mine.txt', `${dir}l`, cb))],
      ['symlink target', () => call((cb) => sftp.symlink(p, 'escape-link', cb))],
      ['hardlink from', () => call((cb) => sftp.ext_openssh_hardlink(p, 'hard.txt', cb))],
      ['hardlink to', () => call((cb) => sftp.ext_openssh_hardlink('mine.txt', `${dir}hard.txt`, cb))],
      ['statvfs', () => call((cb) => sftp.ext_openssh_statvfs(dir, cb))],
    ];
    for (const [name, op] of ops) {
      const code = await sftpErrorCode(op());
      // Confined semantics: ".." stops at the home, so these are plain misses (or a refused
      // escape), never a success that reached the victim. mkdir of "newdir" under a missing
      // "victim" folder inside the home fails too.
      assert.notEqual(code, 'succeeded', `${name} ${p} succeeded`);
    }
    // realpath answers in the virtual namespace only
    const real = await call<string>((cb) => sftp.realpath(p, cb));
    assert.ok(real.startsWith('/') && !real.includes('..') && !real.includes(f.srv.dataDir), real);
  }
  // ".." of the home is the home
  const rootNames = (await call<{ filename: string }[]>((cb) => sftp.readdir('/..', cb))).map((e) => e.filename).sort();
  assert.deepEqual(rootNames, ['mine.txt']);

  assert.deepEqual(await snapshot(victim), before);
  assert.deepEqual((await readdir(f.home)).sort(), ['mine.txt']);
  assert.deepEqual((await readdir(path.dirname(f.home))).sort(), [USER, 'victim']);
  assert.equal(await readFile(path.join(f.home, 'mine.txt'), 'utf8'), 'mine');
});

void test('symlink and hard-link escapes: planted links to outside are refused, nothing leaks', async (t) => {
  const f = await startSftpFixture(t);
  const victim = await plantVictim(f);
  const before = await snapshot(victim);
  await symlink(victim, path.join(f.home, 'out-dir'));
  await symlink(path.join(victim, 'secret.txt'), path.join(f.home, 'out-file'));
  await symlink('../victim/secret.txt', path.join(f.home, 'rel-out'));
  const s = await openSftp(f);
  t.after(() => s.close());
  const { sftp } = s;

  for (const link of ['out-file', 'rel-out', 'out-dir/secret.txt']) {
    assert.equal(await sftpErrorCode(readAll(sftp, link)), 3, `read ${link}`);
    assert.equal(await sftpErrorCode(call((cb) => sftp.stat(link, cb))), 3, `stat ${link}`);
    assert.equal(await sftpErrorCode(call((cb) => sftp.setstat(link, { mode: 0o666 }, cb))), 3, `setstat ${link}`);
    assert.equal(await sftpErrorCode(call((cb) => sftp.ext_openssh_hardlink(link, 'hard', cb))), 3, `hardlink ${link}`);
    assert.equal(await sftpErrorCode(call<Buffer>((cb) => sftp.open(link, 'w', cb))), 3, `write ${link}`);
  }
  assert.equal(await sftpErrorCode(call((cb) => sftp.readdir('out-dir', cb))), 3);
  assert.equal(await sftpErrorCode(call((cb) => sftp.mkdir('out-dir/new', cb))), 3);
  assert.equal(await sftpErrorCode(call((cb) => sftp.rename('out-dir/secret.txt', 'stolen', cb))), 3);
  assert.equal(await sftpErrorCode(call((cb) => sftp.ext_openssh_statvfs('out-dir', cb))), 3);
  // readlink never reveals a real path outside the home
  assert.equal(await sftpErrorCode(call((cb) => sftp.readlink('out-file', cb))), 3);
  // a new symlink that climbs out is refused; one that is absolute stays inside the home
  assert.equal(await sftpErrorCode(call((cb) => sftp.symlink('../../../../../etc/passwd', 'evil', cb))), 3);
  await assert.rejects(lstat(path.join(f.home, 'evil')), { code: 'ENOENT' });
  await call((cb) => sftp.symlink('/etc/passwd', 'abs', cb));
  assert.equal(await sftpErrorCode(readAll(sftp, 'abs')), 2); // the home's /etc/passwd: absent
  // removing the planted link removes the link, never its target
  await call((cb) => sftp.unlink('out-file', cb));
  assert.deepEqual(await snapshot(victim), before);
  assert.deepEqual((await readdir(path.dirname(f.home))).sort(), [USER, 'victim']);
});

function subsystem(conn: Awaited<ReturnType<typeof connectSsh2>>): Promise<ClientChannel> {
  return new Promise((resolve, reject) => conn.subsys('sftp', (err, ch) => (err ? reject(err) : resolve(ch))));
}

function frame(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}

const INIT = frame(1, Buffer.from([0, 0, 0, 3]));

const MALFORMED: [string, Buffer][] = [
  ['truncated OPEN', frame(3, Buffer.from([0, 0, 0, 7, 0, 0, 0, 200, 0x2f]))],
  ['string longer than the packet', frame(17, Buffer.from([0, 0, 0, 9, 0xff, 0xff, 0xff, 0xf0, 0x41]))],
  ['packet over the size limit', Buffer.from([0x7f, 0xff, 0xff, 0xff, 5, 0, 0, 0, 1])],
  ['packet too small', Buffer.from([0, 0, 0, 1, 5])],
  ['INIT twice', INIT],
  ['offset beyond 2^53', frame(5, Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0, 0, 0, 16])]))],
];

void test('a malformed packet closes its own connection only, and is audited', async (t) => {
  const f = await startSftpFixture(t);
  const events: AuditRecord[] = [];
  const unsubscribe = f.srv.server.core.audit.subscribe((e) => events.push(e));
  t.after(unsubscribe);
  const good = await openSftp(f);
  t.after(() => good.close());

  for (const [name, bytes] of MALFORMED) {
    const conn = await connectSsh2(f);
    const ch = await subsystem(conn);
    const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
    conn.on('error', () => undefined);
    const version = new Promise<Buffer>((resolve) => ch.once('data', (d: Buffer) => resolve(d)));
    ch.write(INIT);
    assert.equal((await version)[4], 2, 'VERSION');
    ch.write(bytes);
    // the server ends the whole SSH connection (bounded wait, so a miss fails instead of hanging)
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`${name}: connection not closed`)), 10_000).unref())]);
    assert.ok(events.some((e) => e.type === 'protocol.malformed'), name);
    // the other connection is untouched
    assert.equal(await call<string>((cb) => good.sftp.realpath('.', cb)), '/', name);
  }
  const malformed = events.filter((e) => e.type === 'protocol.malformed');
  assert.equal(malformed.length, MALFORMED.length);
  assert.ok(malformed.every((e) => e.type === 'protocol.malformed' && e.code === 'ERR_PROTOCOL_MALFORMED' && e.user === USER));
});

void test('unknown requests and extensions get OP_UNSUPPORTED; bad handles and the handle cap get FAILURE', async (t) => {
  const f = await startSftpFixture(t);
  const conn = await connectSsh2(f);
  t.after(() => conn.end());
  const ch = await subsystem(conn);
  const replies: Buffer[] = [];
  let pending = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  ch.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      replies.push(pending.subarray(4, 4 + pending.readUInt32BE(0)));
      pending = pending.subarray(4 + pending.readUInt32BE(0));
      waiters.shift()?.();
    }
  });
  const next = () => new Promise<Buffer>((resolve) => (replies.length > 0 ? resolve(replies.shift()!) : waiters.push(() => resolve(replies.shift()!))));
  ch.write(INIT);
  await next();
  const str = (s: string | Buffer) => {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const id = (n: number) => Buffer.from([0, 0, 0, n]);
  ch.write(frame(99, id(1)));
  let r = await next();
  assert.deepEqual([r[0], r.readUInt32BE(1), r.readUInt32BE(5)], [101, 1, 8]);
  ch.write(frame(200, Buffer.concat([id(2), str('copy-data')])));
  r = await next();
  assert.deepEqual([r[0], r.readUInt32BE(1), r.readUInt32BE(5)], [101, 2, 8]);
  ch.write(frame(4, Buffer.concat([id(3), str('nope')])));
  r = await next();
  assert.deepEqual([r[0], r.readUInt32BE(1), r.readUInt32BE(5)], [101, 3, 4]);
  // limits@openssh.com
  ch.write(frame(200, Buffer.concat([id(4), str('limits@openssh.com')])));
  r = await next();
  assert.equal(r[0], 201);
  assert.deepEqual([r.readBigUInt64BE(5), r.readBigUInt64BE(13), r.readBigUInt64BE(21), r.readBigUInt64BE(29)], [263168n, 261120n, 261120n, 256n]);

  // the handle cap
  await writeFile(path.join(f.home, 'h.txt'), 'x');
  const open = (n: number) => frame(3, Buffer.concat([Buffer.from([0, 0, (n >> 8) & 0xff, n & 0xff]), str('h.txt'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])]));
  let failures = 0;
  for (let i = 0; i < 260; i++) ch.write(open(10 + i));
  for (let i = 0; i < 260; i++) {
    const rep = await next();
    if (rep[0] === 101) failures++;
  }
  assert.equal(failures, 4);
});

void test('exec, shell and forwarding are refused with a message; 64 concurrent sessions work', async (t) => {
  // 64 connections log in at once from one address: the per-address caps are raised with it.
  const f = await startSftpFixture(t, { limits: { maxConnectionsPerAddress: 100, maxUnauthenticatedPerAddress: 100 } });
  const privateKey = await readFile(f.key);
  const conn = await connectSsh2(f, { password: undefined, privateKey });
  t.after(() => conn.end());
  const exec = await new Promise<{ code: number; stderr: string }>((resolve, reject) =>
    conn.exec('cat /etc/passwd', (err, ch) => {
      if (err) return reject(err);
      let stderr = '';
      let code = -1;
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('exit', (c: number) => (code = c));
      ch.on('close', () => resolve({ code, stderr }));
      ch.resume();
    }),
  );
  assert.equal(exec.code, 1);
  assert.match(exec.stderr, /SFTP and SCP only/);
  const shell = await new Promise<string>((resolve, reject) =>
    conn.shell(false, (err, ch) => {
      if (err) return reject(err);
      let stderr = '';
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('close', () => resolve(stderr));
      ch.resume();
    }),
  );
  assert.match(shell, /SFTP and SCP only/);
  await assert.rejects(new Promise((resolve, reject) => conn.forwardOut('127.0.0.1', 1, '127.0.0.1', 22, (err, ch) => (err ? reject(err) : resolve(ch)))));
  await assert.rejects(new Promise((resolve, reject) => conn.forwardIn('127.0.0.1', 0, (err, port) => (err ? reject(err) : resolve(port)))));

  const sessions = await Promise.all(Array.from({ length: 64 }, () => openSftp(f, { password: undefined, privateKey })));
  t.after(() => sessions.forEach((s) => s.close()));
  await Promise.all(
    sessions.map(async (s, i) => {
      const data = Buffer.from(`session ${i} `.repeat(1000));
      const h = await call<Buffer>((cb) => s.sftp.open(`c${i}.txt`, 'w', cb));
      await call((cb) => s.sftp.write(h, data, 0, data.length, 0, cb));
      await call((cb) => s.sftp.close(h, cb));
      assert.equal(await readAll(s.sftp, `c${i}.txt`), data.subarray(0, 4096).toString());
    }),
  );
  assert.equal((await readdir(f.home)).length, 64);
});

void test('a read-only account can list and download; every writing request is refused and the disk is unchanged', async (t) => {
  const f = await startSftpFixture(t);
  await f.srv.addUser('reader', { password: 'reader password 123', readOnly: true });
  const home = path.join(f.srv.dataDir, 'home', 'reader');
  await mkdir(path.join(home, 'd'), { recursive: true });
  await writeFile(path.join(home, 'f.txt'), 'read me');
  const s = await openSftp(f, { username: 'reader', password: 'reader password 123' });
  t.after(() => s.close());
  const { sftp } = s;
  assert.equal(await readAll(sftp, 'f.txt'), 'read me');
  const denied: [string, () => Promise<unknown>][] = [
    ['open write', () => call<Buffer>((cb) => sftp.open('new.txt', 'w', cb))],
    ['mkdir', () => call((cb) => sftp.mkdir('x', cb))],
    ['rmdir', () => call((cb) => sftp.rmdir('d', cb))],
    ['remove', () => call((cb) => sftp.unlink('f.txt', cb))],
    ['rename', () => call((cb) => sftp.rename('f.txt', 'g.txt', cb))],
    ['posix-rename', () => call((cb) => sftp.ext_openssh_rename('f.txt', 'g.txt', cb))],
    ['setstat', () => call((cb) => sftp.setstat('f.txt', { mode: 0o777 }, cb))],
    ['symlink', () => call((cb) => sftp.symlink('f.txt', 'l', cb))],
    ['hardlink', () => call((cb) => sftp.ext_openssh_hardlink('f.txt', 'h', cb))],
  ];
  for (const [name, op] of denied) assert.equal(await sftpErrorCode(op()), 3, name);
  assert.deepEqual((await readdir(home)).sort(), ['d', 'f.txt']);
  assert.equal(await readFile(path.join(home, 'f.txt'), 'utf8'), 'read me');
  assert.equal((await stat(path.join(home, 'f.txt'))).mode & 0o777, 0o644);
});
