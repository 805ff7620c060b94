// A short run of the protocol fuzzer (scripts/fuzz.ts, issue 14) in every test run: both targets,
// a fixed seed (a failure is reproducible with the same command), a few thousand inputs each.
// The full run (a million inputs per target) is `npm run fuzz`; its figures are in
// docs/threat-model.md.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../helpers/server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('fuzz smoke: 4,000 mutated FTP command sequences and 4,000 SFTP packet sequences, no crash, hang, internal error or heap growth', { timeout: 240_000 }, async (t) => {
  const findings = path.join(await makeTempDir(t), 'findings');
  const args = ['--import', 'tsx', path.join(ROOT, 'scripts', 'fuzz.ts'), '--target', 'all', '--runs', '4000', '--seed', '2026', '--findings', findings];
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
  assert.match(out, /^ftp: 4000 inputs/m, out);
  assert.match(out, /^sftp: 4000 inputs/m, out);
  assert.match(out, /^findings: 0$/m, `reproduce with: node ${args.join(' ')}\n${out}`);
  assert.equal(code, 0, out);
});
