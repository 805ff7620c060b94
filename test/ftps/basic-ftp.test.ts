// The basic-ftp library (Node, resumes TLS sessions on data connections) on TLS 1.2 and 1.3.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Client } from 'basic-ftp';
import { MiB, PASSWORD, USER, randomFile, sha256File, startFtps } from './helpers.ts';

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  for (const secure of [true, 'implicit'] as const) {
    void test(`basic-ftp ${secure === true ? 'explicit' : 'implicit'} on ${version}: full session`, { timeout: 180_000 }, async (t) => {
      const f = await startFtps(t);
      const small = await randomFile(f.work, 'small.bin', MiB);
      const big = await randomFile(f.work, 'big.bin', 50 * MiB);
      const client = new Client(60_000);
      t.after(() => client.close());
      await client.access({ host: '127.0.0.1', port: secure === true ? f.explicitPort : f.implicitPort, user: USER, password: PASSWORD, secure, secureOptions: { ca: await readFile(f.caFile), minVersion: version, maxVersion: version } });
      await client.ensureDir('bf');
      await client.uploadFrom(small.file, 'small.bin');
      await client.uploadFrom(big.file, 'big.bin');
      const list = await client.list();
      assert.deepEqual(list.map((e) => e.name).sort(), ['big.bin', 'small.bin']);
      assert.equal(list.find((e) => e.name === 'big.bin')?.size, 50 * MiB);
      assert.equal(await client.size('big.bin'), 50 * MiB);
      const mod = await client.lastMod('small.bin');
      assert.ok(Math.abs(mod.getTime() - Date.now()) < 120_000, `MDTM ${mod.toISOString()}`);
      const out = path.join(f.work, 'out.bin');
      await client.downloadTo(out, 'big.bin');
      assert.equal(await sha256File(out), big.sha256);
      // resume a download (REST) and an upload (APPE)
      const part = path.join(f.work, 'part.bin');
      const data = await readFile(small.file);
      await writeFile(part, data.subarray(0, 5000));
      await client.downloadTo(part, 'small.bin', 5000);
      assert.equal(await sha256File(part), small.sha256);
      await writeFile(path.join(f.work, 'head.bin'), data.subarray(0, 1234));
      await writeFile(path.join(f.work, 'rest.bin'), data.subarray(1234));
      await client.uploadFrom(path.join(f.work, 'head.bin'), 'appended.bin');
      await client.appendFrom(path.join(f.work, 'rest.bin'), 'appended.bin');
      assert.equal(await sha256File(path.join(f.home, 'bf/appended.bin')), small.sha256);
      await client.rename('small.bin', 'renamed.bin');
      await client.remove('renamed.bin');
      await client.cd('/');
      await client.removeDir('bf');
      await assert.rejects(stat(path.join(f.home, 'bf')), { code: 'ENOENT' });
    });
  }
}
