// OpenSSH clients against the real server: sftp (key in batch mode, password and
// keyboard-interactive through SSH_ASKPASS), scp (SFTP-based and -O), exec refused, ssh-audit.
import assert from 'node:assert/strict';
import { copyFile, lstat, readlink, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { askpass, makeFile, requireBinary, run, sftpBatch, sha256File, SSH_OPTS, startSftpFixture, USER } from './helpers.ts';

void test('OpenSSH sftp with a key: mkdir, put/get 1 MiB and 50 MiB, ls, rename, resume, links, df, rm, rmdir', async (t) => {
  const f = await startSftpFixture(t);
  const small = path.join(f.dir, 'small.bin');
  const big = path.join(f.dir, 'big.bin');
  const smallSha = await makeFile(small, 1024 * 1024);
  const bigSha = await makeFile(big, 50 * 1024 * 1024);

  const r1 = await sftpBatch(f, ['mkdir up', `put ${small} up/small.bin`, `put ${big} up/big.bin`, 'ls -l up', `get up/big.bin ${f.dir}/big.down`, `get up/small.bin ${f.dir}/small.down`, 'rename up/small.bin up/renamed.bin', 'rename up/renamed.bin up/small.bin', 'df', 'df -h', 'pwd']);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stdout, /-rw\S+\s+1 alice\s+alice\s+52428800 .* big\.bin/);
  assert.match(r1.stdout, /Remote working directory: \/\n/);
  assert.match(r1.stdout, /Size\s+Used\s+Avail/); // df answered through statvfs@openssh.com
  assert.equal(await sha256File(path.join(f.dir, 'big.down')), bigSha);
  assert.equal(await sha256File(path.join(f.dir, 'small.down')), smallSha);
  // the disk holds what was sent, under the home, and nothing half-written beside it
  assert.equal(await sha256File(path.join(f.home, 'up', 'big.bin')), bigSha);
  assert.equal(await sha256File(path.join(f.home, 'up', 'small.bin')), smallSha);

  // resume: the server has the first 400 KiB, reput sends the rest
  await copyFile(small, path.join(f.home, 'up', 'resume-up.bin'));
  await truncate(path.join(f.home, 'up', 'resume-up.bin'), 400 * 1024);
  // the client has the first 300 KiB, reget fetches the rest
  await copyFile(small, path.join(f.dir, 'resume-down.bin'));
  await truncate(path.join(f.dir, 'resume-down.bin'), 300 * 1024);
  const r2 = await sftpBatch(f, [`reput ${small} up/resume-up.bin`, `reget up/small.bin ${f.dir}/resume-down.bin`]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(await sha256File(path.join(f.home, 'up', 'resume-up.bin')), smallSha);
  assert.equal(await sha256File(path.join(f.dir, 'resume-down.bin')), smallSha);

  // symlink inside the home works (OpenSSH sends target and link reversed), and reads through
  const r3 = await sftpBatch(f, ['ln -s small.bin up/link.bin', `get up/link.bin ${f.dir}/via-link`, 'ln up/small.bin up/hard.bin']);
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal((await lstat(path.join(f.home, 'up', 'link.bin'))).isSymbolicLink(), true);
  assert.equal(await readlink(path.join(f.home, 'up', 'link.bin')), 'small.bin');
  assert.equal(await sha256File(path.join(f.dir, 'via-link')), smallSha);
  assert.equal((await stat(path.join(f.home, 'up', 'hard.bin'))).nlink, 2);

  // a symlink pointing outside the home is refused and nothing is created
  const r4 = await sftpBatch(f, ['ln -s ../../../../../../etc/passwd up/evil']);
  assert.notEqual(r4.code, 0);
  assert.match(r4.stderr, /Permission denied|[Ff]ailure/);
  await assert.rejects(lstat(path.join(f.home, 'up', 'evil')), { code: 'ENOENT' });

  const r5 = await sftpBatch(f, ['rm up/link.bin', 'rm up/hard.bin', 'rm up/small.bin', 'rm up/big.bin', 'rm up/resume-up.bin', 'rmdir up', 'ls -la']);
  assert.equal(r5.code, 0, r5.stderr);
  await assert.rejects(lstat(path.join(f.home, 'up')), { code: 'ENOENT' });
});

void test('sftp -vvv shows the OpenSSH extensions, strict KEX and no server version', async (t) => {
  const f = await startSftpFixture(t);
  const r = await sftpBatch(f, ['pwd'], ['-vvv']);
  assert.equal(r.code, 0, r.stderr);
  for (const ext of ['posix-rename@openssh.com', 'statvfs@openssh.com', 'fstatvfs@openssh.com', 'hardlink@openssh.com', 'fsync@openssh.com', 'limits@openssh.com']) {
    assert.match(r.stderr, new RegExp(`Server supports extension "${ext.replace(/\./g, '\\.')}"`), ext);
  }
  assert.match(r.stderr, /remote software version Portcullis\r?\n/);
  assert.match(r.stderr, /kex-strict-s-v00@openssh\.com/);
  // server-sig-algs: exactly the user-key signatures we accept (patches/ssh2+1.17.0.patch).
  assert.match(r.stderr, /server-sig-algs=<ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256>/);
});

for (const method of ['password', 'keyboard-interactive'] as const) {
  void test(`OpenSSH sftp logs in with ${method} through SSH_ASKPASS`, async (t) => {
    const f = await startSftpFixture(t);
    await requireBinary('sftp', 'openssh-client');
    const env = await askpass(f);
    const args = [...SSH_OPTS, '-o', `PreferredAuthentications=${method}`, '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-P', String(f.port), `${USER}@127.0.0.1`];
    const r = await run('sftp', args, { env, input: 'mkdir via-password\nls\nbye\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /via-password/);
    assert.equal((await stat(path.join(f.home, 'via-password'))).isDirectory(), true);

    const bad = await run('sftp', args, { env: await askpass(f, 'wrong password'), input: 'ls\n' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Permission denied/);
  });
}

void test('scp (SFTP protocol) uploads and downloads; legacy scp -O works; exec is refused with a message', async (t) => {
  const f = await startSftpFixture(t);
  await requireBinary('scp', 'openssh-client');
  await requireBinary('ssh', 'openssh-client');
  const src = path.join(f.dir, 'scp.bin');
  const sha = await makeFile(src, 3 * 1024 * 1024 + 17);
  const common = [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.key, '-P', String(f.port)];
  const up = await run('scp', [...common, src, `${USER}@127.0.0.1:scp.bin`]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(await sha256File(path.join(f.home, 'scp.bin')), sha);
  const down = await run('scp', [...common, `${USER}@127.0.0.1:scp.bin`, path.join(f.dir, 'scp.down')]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await sha256File(path.join(f.dir, 'scp.down')), sha);
  // overwrite a bigger file with a smaller one (scp truncates with FSETSTAT size)
  const smaller = path.join(f.dir, 'smaller.bin');
  const smallerSha = await makeFile(smaller, 1000);
  const over = await run('scp', [...common, smaller, `${USER}@127.0.0.1:scp.bin`]);
  assert.equal(over.code, 0, over.stderr);
  assert.equal(await sha256File(path.join(f.home, 'scp.bin')), smallerSha);

  // legacy scp -O is served too (test/sftp/scp-legacy.test.ts has the rest)
  const legacy = await run('scp', ['-O', ...common, src, `${USER}@127.0.0.1:legacy.bin`]);
  assert.equal(legacy.code, 0, legacy.stderr);
  assert.equal(await sha256File(path.join(f.home, 'legacy.bin')), sha);

  const sshCommon = [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.key, '-p', String(f.port), `${USER}@127.0.0.1`];
  const exec = await run('ssh', [...sshCommon, 'echo', 'pwned', '>', 'x']);
  assert.equal(exec.code, 1);
  assert.match(exec.stderr, /SFTP and SCP only/);
  assert.doesNotMatch(exec.stdout, /pwned/);
  const fwd = await run('ssh', ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', '0:127.0.0.1:9', ...sshCommon], { timeoutMs: 20_000 });
  assert.notEqual(fwd.code, 0);
});

void test('ssh-audit finds no [fail] and no [warn] on a default install', async (t) => {
  await requireBinary('ssh-audit', 'ssh-audit');
  const f = await startSftpFixture(t);
  const r = await run('ssh-audit', ['-n', '-p', String(f.port), '127.0.0.1']);
  const lines = r.stdout.split('\n');
  // Debian 12's ssh-audit 2.5.0 predates the Terrapin fix and reports the strict-KEX marker
  // (which must be there) as an unknown algorithm: that line is the only one tolerated.
  assert.ok(lines.some((l) => l.startsWith('(kex) kex-strict-s-v00@openssh.com')), r.stdout);
  const findings = lines.filter((l) => /\[(fail|warn)\]/.test(l) && !/^\(kex\) kex-strict-s-v00@openssh\.com\s+-- \[warn\] unknown algorithm$/.test(l));
  assert.deepEqual(findings, [], r.stdout);
  assert.match(r.stdout, /banner: SSH-2\.0-Portcullis\n/);
  assert.doesNotMatch(r.stdout, /\bssh-rsa\b(?! *:)|ecdh-sha2-nistp|hmac-sha2-256 /);
});

void test('legacy algorithms are opt-in, one by one, and warned about at start', async (t) => {
  const f = await startSftpFixture(t, { sftp: { legacyAlgorithms: ['hmac-sha2-256'] } });
  assert.ok(f.srv.output.some((l) => /WARNING: .*sftp\.legacyAlgorithms.*hmac-sha2-256/.test(l)), f.srv.output.join('\n'));
  const r = await sftpBatch(f, ['pwd'], ['-o', 'MACs=hmac-sha2-256', '-o', 'Ciphers=aes128-ctr']);
  assert.equal(r.code, 0, r.stderr);
  const def = await startSftpFixture(t);
  const refused = await sftpBatch(def, ['pwd'], ['-o', 'MACs=hmac-sha2-256', '-o', 'Ciphers=aes128-ctr']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /no matching MAC|Connection closed/);
});

void test('RSA user keys: rsa-sha2-256 works by default, SHA-1 ssh-rsa signatures only when enabled', async (t) => {
  const f = await startSftpFixture(t);
  const rsa = path.join(f.dir, 'id_rsa');
  const gen = await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa]);
  assert.equal(gen.code, 0, gen.stderr);
  await f.srv.addUser('rsauser', { keyFile: `${rsa}.pub` });
  const base = [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', rsa, '-P', String(f.port)];
  const batch = path.join(f.dir, 'pwd.batch');
  await writeFile(batch, 'pwd\n');
  const sha2 = await run('sftp', [...base, '-o', 'PubkeyAcceptedAlgorithms=rsa-sha2-256', '-b', batch, 'rsauser@127.0.0.1']);
  assert.equal(sha2.code, 0, sha2.stderr);
  const sha1 = await run('sftp', [...base, '-o', 'PubkeyAcceptedAlgorithms=ssh-rsa', '-b', batch, 'rsauser@127.0.0.1']);
  assert.notEqual(sha1.code, 0);
  assert.match(sha1.stderr, /Permission denied/);

  const legacy = await startSftpFixture(t, { sftp: { legacyAlgorithms: ['ssh-rsa'] } });
  await legacy.srv.addUser('rsauser', { keyFile: `${rsa}.pub` });
  const ok = await run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', rsa, '-P', String(legacy.port), '-o', 'PubkeyAcceptedAlgorithms=ssh-rsa', '-b', batch, 'rsauser@127.0.0.1']);
  assert.equal(ok.code, 0, ok.stderr);
});
