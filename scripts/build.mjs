#!/usr/bin/env node
// Compiles src/ to dist/ (plain JavaScript that Node runs without a TypeScript loader), copies the
// data files the code reads beside itself (*.json), and stamps the build. Run by `npm install`
// (prepare), `npm run build` and `npm test`. dist/ keeps src/'s layout, so paths relative to a
// module (../../package.json) are the same in both.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  // An install without devDependencies: bin/portcullis.js runs the sources through tsx instead.
  process.stderr.write('portcullis build: typescript is not installed; the CLI will run from the sources (slower start)\n');
  process.exit(0);
}
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write('portcullis build: the TypeScript build failed (see above); fix the error or run `npm run lint`\n');
  process.exit(r.status ?? 1);
}
const copy = (from, to) => {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) copy(src, dst);
    else if (e.name.endsWith('.json')) {
      mkdirSync(to, { recursive: true });
      copyFileSync(src, dst);
    }
  }
};
copy(path.join(root, 'src'), path.join(root, 'dist'));
if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
  process.stderr.write('portcullis build: dist/cli/main.js was not produced\n');
  process.exit(1);
}
writeFileSync(path.join(root, 'dist', '.build-stamp'), `${new Date().toISOString()}\n`);
