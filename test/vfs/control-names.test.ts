// Attack (issue 14.13, refusing half): names with terminal escapes or BEL are not created over
// SFTP (mkdir, upload, rename target, symlink); a name already on disk stays reachable.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startSftpFixture } from '../sftp/helpers.ts';
import { call, openSftp, sftpErrorCode } from '../sftp/ssh2-client.ts';

const FAILURE = 4; // SSH_FX_FAILURE

test('SFTP: new names with control characters are refused; existing ones stay usable', async (t) => {
  const f = await startSftpFixture(t);
  const session = await openSftp(f);
  t.after(() => session.close());
  const { sftp } = session;
  await call((cb) => sftp.writeFile('plain.txt', 'x', cb));
  for (const bad of ['esc\u001b[2J', 'bel\u0007', 'del\u007f', 'csi\u009b31m']) {
    assert.equal(await sftpErrorCode(call((cb) => sftp.mkdir(bad, cb))), FAILURE, JSON.stringify(bad));
    assert.equal(await sftpErrorCode(call((cb) => sftp.writeFile(bad, 'x', cb))), FAILURE, JSON.stringify(bad));
    assert.equal(await sftpErrorCode(call((cb) => sftp.rename('plain.txt', bad, cb))), FAILURE, JSON.stringify(bad));
    assert.equal(await sftpErrorCode(call((cb) => sftp.symlink('plain.txt', bad, cb))), FAILURE, JSON.stringify(bad));
  }
  assert.deepEqual((await readdir(f.home)).sort(), ['plain.txt']);
  // Made by someone else on disk: still readable and renamable to a clean name.
  await writeFile(path.join(f.home, 'old\u001bname'), 'old');
  assert.equal(String(await call<Buffer>((cb) => sftp.readFile('old\u001bname', cb))), 'old');
  await call((cb) => sftp.rename('old\u001bname', 'clean', cb));
  assert.deepEqual((await readdir(f.home)).sort(), ['clean', 'plain.txt']);
});
