// rclone (Go crypto/tls, TLS 1.3) against the FTPS server with the default data-channel binding
// (every data connection resumes its control connection's TLS session). rclone shares one TLS
// session cache between all its connections, so it is run with one connection (docs/ftps.md).
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { MiB, PASSWORD, USER, randomFile, requireBinary, run, sha256File, startFtps } from './helpers.ts';

void test('rclone (explicit FTPS, one connection): upload, list, download several files in one run each', { timeout: 180_000 }, async (t) => {
  await requireBinary(t, 'rclone', 'apt-get install -y rclone');
  const f = await startFtps(t);
  const up = path.join(f.work, 'up');
  await mkdir(up);
  const files = await Promise.all(['a.bin', 'b.bin', 'c.bin', 'd.bin'].map((n, i) => randomFile(up, n, (i + 1) * MiB)));
  const obscured = await run('rclone', ['obscure', PASSWORD]);
  assert.equal(obscured.code, 0, obscured.stderr);
  const remote = `:ftp,host=127.0.0.1,port=${f.explicitPort},user=${USER},pass=${obscured.stdout.trim()},explicit_tls=true,no_check_certificate=true:`;
  const rclone = async (...args: string[]): Promise<string> => {
    const r = await run('rclone', ['--config', path.join(f.work, 'rclone.conf'), '--ftp-concurrency', '1', '--low-level-retries', '1', '--retries', '1', ...args]);
    assert.equal(r.code, 0, `rclone ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  };
  await rclone('copy', up, `${remote}rc`);
  for (const file of files) assert.equal(await sha256File(path.join(f.home, 'rc', path.basename(file.file))), file.sha256);
  assert.deepEqual((await rclone('lsf', `${remote}rc`)).trim().split('\n').sort(), ['a.bin', 'b.bin', 'c.bin', 'd.bin']);
  const down = path.join(f.work, 'down');
  await rclone('copy', `${remote}rc`, down);
  assert.deepEqual((await readdir(down)).sort(), ['a.bin', 'b.bin', 'c.bin', 'd.bin']);
  for (const file of files) assert.equal(await sha256File(path.join(down, path.basename(file.file))), file.sha256);
});
