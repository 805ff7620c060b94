// Python ftplib: a subclass that resumes the TLS session on data connections does everything;
// the stock FTP_TLS (which never resumes) gets a clear 522 refusal, audited, by default, and does
// everything on a server with the explicit opt-in ftps.dataTlsSessionReuse: optional.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AuditRecord } from '../../src/audit/events.ts';
import { MiB, PASSWORD, USER, randomFile, requireBinary, run, startFtps } from './helpers.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'clients', 'ftplib_client.py');

const CLIENTS = [
  ['session-resuming FTP_TLS', 'required (the default)', [], {}],
  ['stock FTP_TLS', 'the optional opt-in', ['stock-scenario'], { ftps: { dataTlsSessionReuse: 'optional' } }],
] as const;

for (const version of ['1.2', '1.3'] as const) {
  for (const [client, mode, extra, config] of CLIENTS) {
    void test(`ftplib (${client}) on TLS ${version}, data session reuse ${mode}: full session`, { timeout: 180_000 }, async (t) => {
      await requireBinary(t, 'python3', 'apt-get install -y python3');
      const f = await startFtps(t, config);
      const small = await randomFile(f.work, 'small.bin', MiB);
      const big = await randomFile(f.work, 'big.bin', 50 * MiB);
      const r = await run('python3', [SCRIPT, 'scenario', String(f.explicitPort), USER, PASSWORD, f.caFile, f.work, version, ...extra]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(out.tls, `TLSv${version}`);
      assert.equal(out.mkd, '/py');
      assert.deepEqual(out.nlst, ['big.bin', 'small.bin']);
      assert.ok((out.list as string[]).some((l) => /52428800 .* big\.bin$/.test(l)));
      assert.equal((out.mlsd as Record<string, Record<string, string>>)['big.bin']?.size, '52428800');
      assert.equal(out.size, 50 * MiB);
      assert.match(out.mdtm as string, /^213 \d{14}$/);
      assert.equal(out.download_sha256, big.sha256);
      const tail = createHash('sha256').update((await readFile(small.file)).subarray(4096)).digest('hex');
      assert.equal(out.resumed_download_sha256, tail);
      assert.equal(out.resumed_upload_size, MiB);
      assert.match(out.rmd as string, /^250/);
      await assert.rejects(stat(path.join(f.home, 'py')), { code: 'ENOENT' });
    });
  }

  void test(`stock ftplib FTP_TLS (no session reuse) on TLS ${version} gets a clear 522 refusal by default, audited`, { timeout: 60_000 }, async (t) => {
    await requireBinary(t, 'python3', 'apt-get install -y python3');
    const f = await startFtps(t);
    const events: AuditRecord[] = [];
    t.after(f.srv.server.core.audit.subscribe((e) => events.push(e)));
    const r = await run('python3', [SCRIPT, 'stock', String(f.explicitPort), USER, PASSWORD, f.caFile, f.work, version, 'stock']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { stock: string };
    assert.match(out.stock, /^522 .*TLS session/);
    assert.ok(
      events.some((e) => e.type === 'conn.refused' && e.rule === 'ftps.data.tls-session-reuse'),
      'the refusal is audited (conn.refused, rule ftps.data.tls-session-reuse)',
    );
  });
}
