#!/usr/bin/env node
// Bundles the command line (src/cli/main.ts and every module it loads) into dist/ with esbuild:
// plain JavaScript that Node runs without a TypeScript loader, in a few files instead of the
// hundreds of ES modules kysely and zod ship as (resolving and loading those was most of a CLI
// call's start-up). Each command's own modules stay a separate chunk, loaded only when that
// command runs. Run by `npm install` (prepare), `npm run build` and `npm test`.
//
// Bundled: pure-JavaScript libraries with many modules (BUNDLED below). Everything else stays an
// ordinary import from node_modules: native addons (better-sqlite3, argon2, ssh2's crypto),
// libraries patched in patches/ (ssh2), and libraries that load files or workers by path (pino).
// `import.meta.url` in our sources is rewritten to the source file's own URL (relative to the
// chunk), so `new URL('./advisories.json', import.meta.url)` still finds the file beside it.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const BUNDLED = new Set(['kysely', 'zod', 'commander', 'yaml', 'minimatch', 'otpauth']);
const out = path.join(root, 'dist');

let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  // esbuild comes with tsx (a dependency); without it bin/portcullis.js runs the sources through tsx.
  process.stderr.write('portcullis build: esbuild is not installed; the CLI will run from the sources (slower start)\n');
  process.exit(0);
}

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((d) => !BUNDLED.has(d));

/** Rewrites `import.meta.url` in our sources to the URL of the source file itself. */
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      let contents = readFileSync(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        // Every chunk is written straight into dist/, one level below the root.
        const fromChunk = `../${path.relative(root, args.path).split(path.sep).join('/')}`;
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

rmSync(out, { recursive: true, force: true });
try {
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    chunkNames: 'chunk-[hash]',
    external: [...external, ...external.map((d) => `${d}/*`)],
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [sourceUrls],
    // Less for V8 to read at every start (the bundle of zod and yaml is ~1 MB unminified): about
    // 15 ms of a `user list`. Names are kept (no identifier minification), and the source map
    // maps stack traces back to the sources.
    minifyWhitespace: true,
    minifySyntax: true,
    // Bundled CommonJS (commander, yaml) may call require(): give ESM chunks one.
    banner: { js: "import { createRequire as __portcullisCreateRequire } from 'node:module'; const require = __portcullisCreateRequire(import.meta.url);" },
  });
} catch (err) {
  process.stderr.write(`portcullis build: the bundle failed (${err.message}); fix the error or run \`npm run lint\`\n`);
  process.exit(1);
}
if (!existsSync(path.join(out, 'main.js'))) {
  process.stderr.write('portcullis build: dist/main.js was not produced\n');
  process.exit(1);
}
writeFileSync(path.join(out, '.build-stamp'), `${new Date().toISOString()}\n`);
