import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CATALOGUE, PortcullisError, type ErrorCode } from '../../errors/index.ts';
import { selectAlgorithms, DEFAULT_MACS, DEFAULT_KEX } from './algorithms.ts';
import { parseAttrs, formatLongname } from './attrs.ts';
import { ATTR_FLAGS, FXP, STATUS } from './constants.ts';
import { sshMethodsFor } from './index.ts';
import { SftpReader, PacketWriter } from './packet.ts';
import { climbsAboveHome, REQUESTS } from './requests.ts';
import { SFTP_STATUS_FOR, statusForError } from './status.ts';

void test('every catalogue code has an SFTP status, and file errors map as OpenSSH does', () => {
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    if (/^ERR_(VFS|SESSION|PROTOCOL|PERMISSION)_/.test(code)) assert.ok(SFTP_STATUS_FOR[code] !== undefined, code);
  }
  assert.equal(statusForError(new PortcullisError('ERR_VFS_NOT_FOUND')).code, STATUS.NO_SUCH_FILE);
  assert.equal(statusForError(new PortcullisError('ERR_VFS_ESCAPE')).code, STATUS.PERMISSION_DENIED);
  assert.equal(statusForError(Object.assign(new Error('x'), { code: 'ENOENT' })).code, STATUS.NO_SUCH_FILE);
  assert.equal(statusForError(new Error('boom')).code, STATUS.FAILURE);
  // the message is the catalogue text: no real paths, no errno detail
  assert.equal(statusForError(new PortcullisError('ERR_VFS_IO', '/srv/data/x EIO')).message, ERROR_CATALOGUE.ERR_VFS_IO);
});

void test('climbsAboveHome: only targets that leave "/" are refused', () => {
  assert.equal(climbsAboveHome('../../etc/passwd', '/a'), true);
  assert.equal(climbsAboveHome('..\\..\\x', '/a'), true);
  assert.equal(climbsAboveHome('/../x', '/'), true);
  assert.equal(climbsAboveHome('../x', '/a'), false);
  assert.equal(climbsAboveHome('/etc/passwd', '/a/b'), false);
  assert.equal(climbsAboveHome('b/../../x', '/a'), false);
  assert.equal(climbsAboveHome('a/../../../x', '/'), true);
});

void test('the request table: writing requests are flagged, only READ and WRITE run in parallel', () => {
  const writes = Object.entries(REQUESTS).filter(([, d]) => d!.writes).map(([t]) => Number(t)).sort((a, b) => a - b);
  assert.deepEqual(writes, [FXP.WRITE, FXP.SETSTAT, FXP.FSETSTAT, FXP.REMOVE, FXP.MKDIR, FXP.RMDIR, FXP.RENAME, FXP.SYMLINK].sort((a, b) => a - b));
  const parallel = Object.entries(REQUESTS).filter(([, d]) => d!.parallel).map(([t]) => Number(t)).sort((a, b) => a - b);
  assert.deepEqual(parallel, [FXP.READ, FXP.WRITE]);
});

void test('parseAttrs keeps permission bits only (curl sends 0100644) and reads times', () => {
  const w = new PacketWriter(0).u32(ATTR_FLAGS.SIZE | ATTR_FLAGS.PERMISSIONS | ATTR_FLAGS.ACMODTIME).u64(10).u32(0o104755).u32(1).u32(2);
  const a = parseAttrs(new SftpReader(w.finish().subarray(5)));
  assert.deepEqual(a, { size: 10, mode: 0o4755, atime: new Date(1000), mtime: new Date(2000) });
  assert.match(formatLongname('f', { type: 'file', size: 5, mode: 0o644, mtime: new Date(), atime: new Date(), uid: 0, gid: 0, nlink: 1 }, 'alice'), /^-rw-r--r--\s+1 alice\s+alice\s+5 \w{3} \d\d \d\d:\d\d f$/);
  // a name with control characters on disk: the display-only longname escapes them
  assert.match(formatLongname('a\x1b[31mb\x07\r\n', { type: 'file', size: 5, mode: 0o644, mtime: new Date(), atime: new Date(), uid: 0, gid: 0, nlink: 1 }, 'alice'), / a\\x1b\[31mb\\x07\\x0d\\x0a$/);
});

void test('algorithms: defaults are modern; legacy ones only when listed', () => {
  const d = selectAlgorithms([]);
  assert.deepEqual(d.algorithms.hmac, DEFAULT_MACS);
  assert.deepEqual(d.algorithms.kex, DEFAULT_KEX);
  assert.equal(d.sha1UserSignatures, false);
  assert.ok(!(d.algorithms.serverHostKey as string[]).includes('ssh-rsa'));
  const l = selectAlgorithms(['hmac-sha2-256', 'ssh-rsa']);
  assert.ok((l.algorithms.hmac as string[]).includes('hmac-sha2-256'));
  assert.ok(!(l.algorithms.hmac as string[]).includes('hmac-sha2-512'));
  assert.equal(l.sha1UserSignatures, true);
  // server-sig-algs advertises exactly what is accepted
  assert.deepEqual(d.userKeySignatures, ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256']);
  assert.deepEqual(l.userKeySignatures, [...d.userKeySignatures, 'ssh-rsa']);
});

void test('SSH methods offered follow the factors still open', () => {
  assert.deepEqual(sshMethodsFor(['password', 'publickey']), ['publickey', 'password', 'keyboard-interactive']);
  assert.deepEqual(sshMethodsFor(['totp']), ['keyboard-interactive']);
  assert.deepEqual(sshMethodsFor([]), []);
});
