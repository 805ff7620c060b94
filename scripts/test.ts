// Runs node:test over every *.test.ts under src/ and test/ (Node 20 has no glob support in
// --test). Extra arguments narrow the run: `npm test -- src/vfs` runs the files under src/vfs.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files: string[] = [];
const walk = (p: string): void => {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const name of readdirSync(p).sort()) if (name !== 'node_modules' && !name.startsWith('.')) walk(path.join(p, name));
  } else if (p.endsWith('.test.ts')) files.push(p);
};
for (const r of roots.length ? roots : ['src', 'test']) walk(r);
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ') || 'src, test'}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...flags, ...files], { stdio: 'inherit' });
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
