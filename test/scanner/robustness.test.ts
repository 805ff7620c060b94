// One probe's failure is that check's error, never the end of the run: the report is written for
// every target whatever a server (or a scanner bug) does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ScanReport } from '../../src/scanner/types.ts';
import { tempDir } from './helpers/certs.ts';
import { startFakeFtp } from './helpers/fake-ftp.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return runNode(['src/scanner/run.ts', 'scan', ...args]);
}

function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

void describe('scanner robustness', () => {
  for (const when of ['accept', 'transfer'] as const) {
    void test(`a server that resets every data connection (${when}): every target's report is written`, async (t) => {
      const bad = await startFakeFtp(t, { greeting: '220 ready', anonymous: true, writable: true, listing: 'x\r\n', resetData: when });
      const good = await startFakeFtp(t, { greeting: '220 Microsoft FTP Service' });
      const out = path.join(tempDir(t, 'pcscan-robust-'), 'report.json');
      const r = await run([bad.url, good.url, '--allow', 'writes', '--format', 'json', '--output', out, '--timeout', '3']);
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      const report = JSON.parse(readFileSync(out, 'utf8')) as ScanReport;
      assert.deepEqual(report.targets.map((x) => x.target.url), [bad.url, good.url]);
      const write = report.targets[0]!.results.find((x) => x.id === 'ftp.anonymous-write')!;
      assert.notEqual(write.status, 'pass', JSON.stringify(write));
      assert.equal(report.targets[1]!.results.find((x) => x.id === 'ftp.iis-exposed')!.status, 'fail');
    });
  }

  for (const how of ['timer', 'rejection'] as const) {
    void test(`a probe bug (${how === 'timer' ? 'a throw in a timer' : 'an unhandled rejection'}) ends its target with errors; the other targets are whole`, async (t) => {
      const a = await startFakeFtp(t, { greeting: '220 ready' });
      const b = await startFakeFtp(t, { greeting: '220 Microsoft FTP Service' });
      const r = await runNode(['test/scanner/helpers/crash-scan.ts', how, a.url, b.url]);
      assert.equal(r.code, 0, r.stderr);
      const [ra, rb] = (JSON.parse(r.stdout) as ScanReport).targets;
      assert.match(ra!.scannerError ?? '', how === 'timer' ? /probe bug in a timer/ : /forgotten promise/);
      assert.equal(ra!.results.find((x) => x.id === 'svc.exposed-service')!.status, 'pass');
      const open = ra!.results.find((x) => x.id === 'ftp.cleartext-only')!;
      assert.equal(open.status, 'error');
      assert.match(open.reason ?? '', /scanner error/);
      assert.equal(rb!.scannerError, undefined);
      assert.equal(rb!.results.find((x) => x.id === 'ftp.iis-exposed')!.status, 'fail');
    });
  }

  void test('a listing does not keep the process alive after the report', async (t) => {
    const srv = await startFakeFtp(t, { greeting: '220 ready', anonymous: true, listing: 'a\r\nb\r\n' });
    const r = await run([srv.url, '--format', 'json', '--timeout', '5']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as ScanReport;
    assert.equal(report.targets[0]!.results.find((x) => x.id === 'ftp.anonymous-read')!.status, 'fail');
    // The old 10 s timer in passiveList kept the process alive long after the report.
    assert.ok(r.ms < 9000, `scan took ${r.ms} ms`);
  });
});
