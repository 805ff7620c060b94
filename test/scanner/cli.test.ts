// The scan command end to end, as a process: formats, --output, --fail-on, usage errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { goodCert, tempDir } from './helpers/certs.ts';
import type { ScanReport } from '../../src/scanner/types.ts';
import { startFakeFtp } from './helpers/fake-ftp.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function run(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/scanner/run.ts', 'scan', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(stdin);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

void describe('portcullis scan (process)', () => {
  void test('two targets concurrently, JSON to a file, --fail-on high exits 1', async (t) => {
    const a = await startFakeFtp(t, { greeting: '220 (vsFTPd 2.3.4)' });
    const b = await startFakeFtp(t, { greeting: '220 Microsoft FTP Service' });
    const out = path.join(tempDir(t, 'pcscan-cli-'), 'report.json');
    const r = await run([a.url, b.url, '--format', 'json', '--output', out, '--fail-on', 'high', '--timeout', '5']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const report = JSON.parse(readFileSync(out, 'utf8')) as ScanReport;
    assert.equal(report.targets.length, 2);
    assert.deepEqual(report.targets.map((x) => x.target.url), [a.url, b.url]);
    assert.equal(report.options.advisoriesDate.length > 0, true);
    // Not a terminal (a CI log): one line per finished target on stderr.
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('scanned '));
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(lines.some((l) => l.includes(a.url) && /critical/.test(l)), r.stderr);
  });

  void test('on a terminal, progress shows the checks decided within each running target', async (t) => {
    const a = await startFakeFtp(t, { greeting: '220 ready' });
    const written: string[] = [];
    const tty = { isTTY: true, columns: 300, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const { scanAll } = await import('../../src/scanner/scan.ts');
    const { loadAdvisories } = await import('../../src/scanner/advisories.ts');
    const { parseTarget } = await import('../../src/scanner/target.ts');
    const { progressReporter } = await import('../../src/scanner/cli.ts');
    await scanAll([parseTarget(a.url)], { allow: new Set(), ca: [], timeoutMs: 3000, targetTimeoutMs: 30_000, concurrency: 1, advisories: loadAdvisories() }, progressReporter(tty));
    const counts = written.flatMap((w) => [...w.matchAll(/ (\d+)\/(\d+) checks/g)].map((m) => Number(m[1])));
    assert.ok(counts.length > 3, written.join('|'));
    assert.ok(counts.some((n) => n > 0 && n < counts.at(-1)!), 'intermediate check counts shown');
    assert.match(written.at(-1)!, /scanned 1\/1 /);
  });

  void test('--password-stdin credentials are used over TLS only; text on stdout; exit 0 without --fail-on', async (t) => {
    const plain = await startFakeFtp(t, { greeting: '220 ready', users: { bob: 'pw with spaces' } });
    const r = await run([plain.url, '--user', 'bob', '--password-stdin', '--format', 'json'], 'pw with spaces\n');
    assert.equal(r.code, 0, r.stderr);
    // SECURITY: never sent in clear
    assert.ok(!plain.commands.some((c) => c.includes('pw with spaces')));
    const bounce = (JSON.parse(r.stdout) as ScanReport).targets[0]!.results.find((x) => x.id === 'ftp.bounce');
    assert.match(bounce?.reason ?? '', /refusing to send the --user credentials in clear/);

    const cert = goodCert(t);
    const tlsSrv = await startFakeFtp(t, { greeting: '220 ready', explicitTls: { key: cert.key, cert: cert.cert }, requireTls: true, users: { bob: 'pw with spaces' } });
    const r2 = await run([tlsSrv.url, '--user', 'bob', '--password-stdin'], 'pw with spaces\n');
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /ftp\.tls-optional-data/);
    assert.ok(tlsSrv.commands.includes('PASS pw with spaces'));
  });

  void test('usage errors exit 2 with a message', async () => {
    const bad = await run(['http://127.0.0.1:1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unsupported scheme/);
    const allow = await run(['ftp://127.0.0.1:1', '--allow', 'everything']);
    assert.equal(allow.code, 2);
    assert.match(allow.stderr, /--allow takes writes or intrusive/);
  });
});
