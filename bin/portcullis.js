#!/usr/bin/env node
// Entry point for `npx portcullis` and `npm start`. Runs the compiled JavaScript in dist/ (built by
// `npm install` / `npm run build`), which starts in a fraction of the time the TypeScript loader
// needs. A checkout whose sources are newer than the build (or that has no build) runs the
// sources through tsx instead and says so once, so an edited tree never runs stale code.
import { readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time among the sources (a few milliseconds for ~200 files). */
function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(path.join(root, 'dist', '.build-stamp')).mtimeMs;
  } catch {
    return 0;
  }
}

// V8's compiled code for our modules and dependencies is kept on disk between runs (Node 22.1+):
// most of a CLI call's start-up is loading modules, not running them.
module.enableCompileCache?.();

const built = builtAt();
if (built > 0 && newestSource(path.join(root, 'src')) <= built) {
  await import('../dist/main.js');
} else {
  if (built > 0 && !process.env.PORTCULLIS_QUIET_STALE) {
    process.stderr.write('portcullis: the sources are newer than dist/ (run `npm run build`); running them through tsx\n');
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
