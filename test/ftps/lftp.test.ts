// lftp (GnuTLS) against the FTPS server on TLS 1.2 and 1.3: one script, one session.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { MiB, PASSWORD, USER, randomFile, requireBinary, run, sha256File, startFtps } from './helpers.ts';

for (const version of ['1.2', '1.3'] as const) {
  void test(`lftp on TLS ${version}: full session`, { timeout: 180_000 }, async (t) => {
    await requireBinary(t, 'lftp', 'apt-get install -y lftp');
    const f = await startFtps(t);
    const small = await randomFile(f.work, 'small.bin', MiB);
    const big = await randomFile(f.work, 'big.bin', 50 * MiB);
    const data = await readFile(small.file);
    await writeFile(path.join(f.work, 'local-part.bin'), data.subarray(0, 1000));
    await writeFile(path.join(f.work, 'half.bin'), data.subarray(0, MiB / 2));
    const script = [
      `set ssl:ca-file ${f.caFile}`,
      `set ssl:priority "NORMAL:-VERS-ALL:+VERS-TLS${version}"`,
      'set ftp:ssl-force true',
      'set ftp:ssl-protect-data true',
      'set net:max-retries 1',
      'set net:timeout 30',
      'set cmd:fail-exit true',
      `open -u "${USER},${PASSWORD}" ftp://127.0.0.1:${f.explicitPort}`,
      'mkdir lf',
      'cd lf',
      `put ${small.file} -o small.bin`,
      `put ${big.file} -o big.bin`,
      `put ${path.join(f.work, 'half.bin')} -o resumed.bin`,
      `put -c ${small.file} -o resumed.bin`,
      'echo ==LIST',
      'cls -l',
      'echo ==SIZE',
      'quote SIZE big.bin',
      'quote MDTM small.bin',
      `get big.bin -o ${path.join(f.work, 'out.bin')}`,
      `get -c small.bin -o ${path.join(f.work, 'local-part.bin')}`,
      'mv small.bin renamed.bin',
      'rm renamed.bin big.bin resumed.bin',
      'cd /',
      'rmdir lf',
      'echo ==DONE',
    ].join('\n');
    const r = await run('lftp', ['-c', script]);
    assert.equal(r.code, 0, `lftp failed: ${r.stderr}\n${r.stdout}`);
    assert.match(r.stdout, /==DONE/);
    assert.match(r.stdout, /big\.bin/);
    assert.match(r.stdout, /213 52428800/);
    assert.match(r.stdout, /213 \d{14}/);
    assert.equal(await sha256File(path.join(f.work, 'out.bin')), big.sha256);
    assert.equal(await sha256File(path.join(f.work, 'local-part.bin')), small.sha256);
    await assert.rejects(stat(path.join(f.home, 'lf')), { code: 'ENOENT' });
  });
}

void test('lftp: the resumed upload (put -c) ends with the right content', { timeout: 60_000 }, async (t) => {
  await requireBinary(t, 'lftp', 'apt-get install -y lftp');
  const f = await startFtps(t);
  const small = await randomFile(f.work, 'small.bin', MiB);
  await writeFile(path.join(f.work, 'half.bin'), (await readFile(small.file)).subarray(0, MiB / 2));
  const script = [`set ssl:ca-file ${f.caFile}`, 'set ftp:ssl-force true', 'set ftp:ssl-protect-data true', 'set net:max-retries 1', 'set cmd:fail-exit true', `open -u "${USER},${PASSWORD}" ftp://127.0.0.1:${f.explicitPort}`, `put ${path.join(f.work, 'half.bin')} -o r.bin`, `put -c ${small.file} -o r.bin`].join('\n');
  const r = await run('lftp', ['-c', script]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sha256File(path.join(f.home, 'r.bin')), small.sha256);
});
