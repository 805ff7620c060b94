// Big downloads stay byte-identical while ssh2 reuses its packet buffers (patches/ssh2+1.17.0.patch,
// part 4) and the SFTP server its READ buffers and budget (buffer-pool.ts, sftp-server.ts): four
// OpenSSH sftp downloads of one 48 MiB file at once, each with another cipher family (AES-GCM,
// chacha20-poly1305, AES-CTR with an ETM MAC), READ size (255 KiB by default, 32 KiB with -B) or
// re-keying every 8 MiB (packets queued during the key exchange take the other path through
// ssh2). All four share the process-wide pools, so a buffer given back too early would put
// one transfer's bytes into another's.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { makeFile, sftpBatch, sha256File, startSftpFixture } from './helpers.ts';

void test('four concurrent downloads (gcm, chacha20, ctr+etm, 32 KiB reads, rekeying) are byte-identical', async (t) => {
  const f = await startSftpFixture(t);
  await mkdir(f.home, { recursive: true });
  const sha = await makeFile(path.join(f.home, 'big.bin'), 48 * 1024 * 1024);
  const variants: [string, string[]][] = [
    ['gcm', ['-c', 'aes128-gcm@openssh.com']],
    ['chacha', ['-c', 'chacha20-poly1305@openssh.com', '-o', 'RekeyLimit=8M']],
    ['ctr', ['-c', 'aes128-ctr', '-o', 'MACs=hmac-sha2-256-etm@openssh.com']],
    ['small-reads', ['-c', 'aes128-gcm@openssh.com', '-B', '32768']],
  ];
  const results = await Promise.all(variants.map(([name, extra]) => sftpBatch(f, [`get big.bin ${path.join(f.dir, `${name}.down`)}`], extra)));
  for (const [i, r] of results.entries()) assert.equal(r.code, 0, `${variants[i]![0]}: ${r.stderr}`);
  for (const [name] of variants) assert.equal(await sha256File(path.join(f.dir, `${name}.down`)), sha, `${name} download differs`);
});
