// Coverage-guided fuzzing of the two protocol front ends (issue 14): the FTP line reader, parser
// and command table, and the SFTP packet decoder and request table, both in this process over a
// real core (store, audit, Vfs on a temporary home). Not part of the default test run; a short
// smoke run is (test/fuzz/fuzz-smoke.test.ts).
//
//   node --import tsx scripts/fuzz.ts [--target ftp|sftp|all] [--runs N] [--seconds S] [--seed X]
//                                     [--findings DIR] [--replay FILE --target T]
//
// How: a seeded mutation loop (no maintained coverage-guided JS fuzzer installs on Node 26: the
// one there was, Jazzer.js, is archived and its native part does not build). Inputs are mutated
// from a corpus (byte flips, interesting values, length fields, splices, whole packets/lines
// inserted, dropped, repeated). Coverage comes from V8's own block coverage
// (Profiler.startPreciseCoverage through node:inspector), read once per batch of inputs: a batch
// that reaches a block of src/ never reached before adds its inputs to the corpus. That is
// coarser than per-input feedback (a batch's inputs are kept together), and it is what V8 gives
// without instrumenting the code.
//
// A finding is: an exception or rejection that escapes the server (the process would crash), a
// request left without a reply (hang, per-input deadline), an internal error the server logged
// (a bug in a handler, ERR_INTERNAL), or heap growth past --max-growth-mb after a full GC at the
// end compared with after warm-up. Each finding's input is written to --findings (default
// ./fuzz-findings) and can be replayed with --replay. Exit code: 0 no finding, 1 findings, 2 error.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { hash } from '@node-rs/argon2';
import pino from 'pino';
import { createCore, type Core } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { ALL_PERMISSIONS } from '../src/session/permissions.ts';
import type { ConnectionContext } from '../src/net/connection.ts';
import { createFtpsAdapter } from '../src/protocols/ftp/ftps-adapter.ts';
import { FtpTarget } from './fuzz/ftp-target.ts';
import { Rng } from './fuzz/mutate.ts';
import { FuzzHang, FuzzInternal, SftpTarget } from './fuzz/sftp-target.ts';
import type { Target } from './fuzz/target.ts';

const { values: opts } = parseArgs({
  options: {
    target: { type: 'string', default: 'all' },
    runs: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '0' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    findings: { type: 'string', default: 'fuzz-findings' },
    replay: { type: 'string' },
    'timeout-ms': { type: 'string', default: '3000' },
    'batch': { type: 'string', default: '250' },
    'max-growth-mb': { type: 'string', default: '64' },
    quiet: { type: 'boolean', default: false },
  },
});
const RUNS = Number(opts.runs);
const SECONDS = Number(opts.seconds);
const SEED = Number(opts.seed);
const TIMEOUT_MS = Number(opts['timeout-ms']);
const BATCH = Number(opts.batch);
const MAX_GROWTH = Number(opts['max-growth-mb']) * 1024 * 1024;
const say = (line: string) => process.stdout.write(`${line}\n`);

// --- the process-wide crash net: anything that escapes is a finding for the input running now ---
let current: { target: string; data: Buffer } | null = null;
const escaped: { kind: string; message: string; input: Buffer | null; target: string }[] = [];
process.on('uncaughtException', (err) => escaped.push({ kind: 'uncaught exception', message: err.stack ?? String(err), input: current?.data ?? null, target: current?.target ?? '?' }));
process.on('unhandledRejection', (err) => escaped.push({ kind: 'unhandled rejection', message: (err as Error)?.stack ?? String(err), input: current?.data ?? null, target: current?.target ?? '?' }));

// --- the server's log: internal errors (bugs in handlers) are counted ---
let internalErrors = 0;
const logSink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    if (chunk.includes('"code":"ERR_INTERNAL"')) {
      internalErrors++;
      if (!opts.quiet) process.stderr.write(chunk);
    }
    cb();
  },
});

async function environment(): Promise<{ core: Core; dir: string; ftpPort: number; close: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-fuzz-'));
  const file = path.join(dir, 'portcullis.yaml');
  // The fuzzing server: plain-text FTP logins (commands after login without a TLS handshake per
  // input), no MFA, no defender, limits wide enough that the fuzzer is never rate-limited.
  writeFileSync(
    file,
    [
      `dataDir: ${path.join(dir, 'data')}`,
      'log: { level: error }',
      'sftp: { enabled: false }',
      'ftps: { address: 127.0.0.1, port: 0, implicitPort: null, allowPlaintext: true, passivePorts: 40000-40999 }',
      'metrics: { enabled: false }',
      'mfa: { required: false }',
      'defender: { enabled: false }',
      'rateLimits: { connectionsPerSecond: 0, userFailuresBeforeDelay: 10000, userMaxDelayMs: 0 }',
      'audit: { store: false }',
    ].join('\n'),
  );
  const { config } = loadConfig({ file });
  const logger = pino({ level: 'error', base: undefined }, logSink);
  const core = await createCore(config, { logger });
  const ftps = createFtpsAdapter(core)!;
  const [listener] = await ftps.start();
  return {
    core,
    dir,
    ftpPort: listener!.port,
    close: async () => {
      await ftps.stop();
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** V8 block coverage of src/: the number of distinct covered ranges seen so far. */
class Coverage {
  private readonly seen = new Set<string>();
  private constructor(private readonly session: InspectorSession) {}
  static async start(): Promise<Coverage> {
    const session = new InspectorSession();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    return new Coverage(session);
  }
  /** New blocks since the last call (counts reset on each take). */
  async take(): Promise<number> {
    const { result } = await this.session.post('Profiler.takePreciseCoverage');
    let fresh = 0;
    for (const script of result) {
      if (!script.url.includes('/src/') || script.url.includes('/node_modules/')) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const key = `${script.url}:${r.startOffset}:${r.endOffset}`;
          if (!this.seen.has(key)) {
            this.seen.add(key);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }
  get size(): number {
    return this.seen.size;
  }
}

interface Finding {
  target: string;
  kind: string;
  message: string;
  file: string | null;
}

async function fuzz<I>(target: Target<I>, coverage: Coverage, rng: Rng, findings: Finding[]): Promise<{ runs: number; seconds: number; corpus: number; blocks: number; heapStartMb: number; heapEndMb: number }> {
  const corpus: I[] = target.seeds();
  const started = Date.now();
  const deadline = SECONDS > 0 ? started + SECONDS * 1000 : Infinity;
  const record = (kind: string, message: string, data: Buffer | null) => {
    let file: string | null = null;
    if (data) {
      mkdirSync(opts.findings, { recursive: true });
      file = path.join(opts.findings, `${target.name}-${kind.replace(/\W+/g, '-')}-${findings.length}.json`);
      writeFileSync(file, data);
    }
    findings.push({ target: target.name, kind, message: message.slice(0, 2000), file });
    say(`FINDING ${target.name} ${kind}: ${message.split('\n')[0]}${file ? ` (input: ${file})` : ''}`);
  };
  // Seeds first, unmutated.
  for (const s of corpus) await runOne(target, s, record);
  await coverage.take();
  gc();
  const heapStart = v8.getHeapStatistics().used_heap_size;
  let runs = 0;
  let lastReport = Date.now();
  while (runs < RUNS && Date.now() < deadline && findings.length < 20) {
    const batch: I[] = [];
    for (let i = 0; i < BATCH && runs < RUNS; i++, runs++) {
      const base = rng.pick(corpus);
      let input = target.mutate(base, rng, rng.pick(corpus));
      // Stacked mutations now and then (havoc).
      if (rng.chance(0.25)) input = target.mutate(input, rng, rng.pick(corpus));
      batch.push(input);
      await runOne(target, input, record);
    }
    const fresh = await coverage.take();
    if (fresh > 0 && corpus.length < 4096) corpus.push(...batch.slice(0, 16));
    if (!opts.quiet && Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      const s = (Date.now() - started) / 1000;
      say(`  ${target.name}: ${runs} inputs, ${Math.round(runs / s)}/s, corpus ${corpus.length}, blocks ${coverage.size}, heap ${(v8.getHeapStatistics().used_heap_size / 1048576).toFixed(0)} MB, rss ${(process.memoryUsage.rss() / 1048576).toFixed(0)} MB`);
    }
  }
  await target.close?.();
  gc();
  const heapEnd = v8.getHeapStatistics().used_heap_size;
  if (heapEnd - heapStart > MAX_GROWTH) record('memory growth', `heap grew ${((heapEnd - heapStart) / 1048576).toFixed(1)} MB over ${runs} inputs (bound ${MAX_GROWTH / 1048576} MB)`, null);
  return { runs, seconds: (Date.now() - started) / 1000, corpus: corpus.length, blocks: coverage.size, heapStartMb: heapStart / 1048576, heapEndMb: heapEnd / 1048576 };
}

async function runOne<I>(target: Target<I>, input: I, record: (kind: string, message: string, data: Buffer | null) => void): Promise<void> {
  const data = target.serialize(input);
  current = { target: target.name, data };
  const before = escaped.length;
  try {
    await target.run(input, TIMEOUT_MS);
  } catch (err) {
    if (err instanceof FuzzHang) record('hang', err.message, data);
    else if (err instanceof FuzzInternal) record('internal error', err.message, data);
    else record('harness error', (err as Error).stack ?? String(err), data);
  }
  // Let escaped errors of this input surface before the next one starts.
  await new Promise((r) => setImmediate(r));
  for (const e of escaped.splice(before)) record(e.kind, e.message, e.input);
  current = null;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<number> {
  if (!(globalThis as { gc?: unknown }).gc) v8.setFlagsFromString('--expose-gc');
  const env = await environment();
  const rng = new Rng(SEED);
  try {
    const user = await env.core.store.users.add({ name: 'fuzz', passwordHash: await hash('fuzz-password-long-enough', { memoryCost: 8, timeCost: 1, parallelism: 1 }), home: path.join(env.dir, 'home'), permissions: [...ALL_PERMISSIONS] });
    mkdirSync(user.home, { recursive: true });
    writeFileSync(path.join(user.home, 'a.txt'), 'hello, fuzz\n');
    const ctx = { id: 'fuzz-sftp', protocol: 'sftp', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 22, startedAt: new Date() } as unknown as ConnectionContext;
    const session = await env.core.openSession(user, ctx);
    const targets: Record<string, () => Target<unknown>> = {
      sftp: () => new SftpTarget(session, () => internalErrors),
      ftp: () => new FtpTarget(env.ftpPort, 'fuzz', 'fuzz-password-long-enough', () => internalErrors),
    };
    const names = opts.target === 'all' ? Object.keys(targets) : [opts.target];
    for (const n of names) if (!targets[n]) throw new Error(`unknown target ${n} (ftp, sftp, all)`);

    if (opts.replay) {
      const t = targets[names[0]!]!();
      const findings: Finding[] = [];
      await runOne(t, t.deserialize(readFileSync(opts.replay)), (kind, message) => findings.push({ target: t.name, kind, message, file: null }));
      await t.close?.();
      say(findings.length ? `replay: ${findings.map((f) => `${f.kind}: ${f.message}`).join('\n')}` : 'replay: no finding');
      return findings.length ? 1 : 0;
    }

    const coverage = await Coverage.start();
    const findings: Finding[] = [];
    say(`fuzz: seed ${SEED}, targets ${names.join(', ')}, up to ${RUNS} inputs each${SECONDS ? ` or ${SECONDS} s` : ''}, ${TIMEOUT_MS} ms per input`);
    for (const n of names) {
      const r = await fuzz(targets[n]!(), coverage, rng, findings);
      say(`${n}: ${r.runs} inputs in ${r.seconds.toFixed(1)} s (${Math.round(r.runs / r.seconds)}/s), corpus ${r.corpus}, src blocks covered ${r.blocks}, heap ${r.heapStartMb.toFixed(1)} -> ${r.heapEndMb.toFixed(1)} MB, rss ${(process.memoryUsage.rss() / 1048576).toFixed(0)} MB, findings ${findings.filter((f) => f.target === n).length}`);
    }
    say(`findings: ${findings.length}`);
    return findings.length ? 1 : 0;
  } finally {
    await env.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fuzz: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
