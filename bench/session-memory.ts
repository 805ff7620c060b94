// Memory that is never given back (issue 21): opens and closes N SFTP sessions (ssh2 client:
// connect, password login, SFTP channel, one listing, close) in cycles against a server in this
// process, and prints the server's memory after a full GC before the first cycle and after each.
// The clients run in a child process (this file with --client), so the figures are the server's
// own: an ssh2 client in the same process doubled the growth and hid whose it was.
// Then holds IDLE sessions open at once and prints what one idle authenticated session costs.
// Heap growth is retained objects (a leak); anonymous-memory growth with a flat heap and flat
// external memory is native memory (the allocator, or a native leak: more cycles tell a
// high-water mark, which plateaus, from a leak, which keeps growing).
//   node --expose-gc --import tsx bench/session-memory.ts [SESSIONS=1000] [CYCLES=4] [CONCURRENCY=20] [IDLE=200]
// env SNAPSHOTS=DIR writes heap snapshots before the first and after the last cycle; SMAPS=DIR copies
// /proc/self/smaps there after each; SETTLE_MS (default 15000) is the wait with GCs before each
// reading; PAUSE_S waits that long after the cycles and reads again (to attach gdb or heaptrack).
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import ssh2 from 'ssh2';

type Ask = { kind: 'cycle'; port: number; sessions: number; concurrency: number } | { kind: 'hold'; port: number; sessions: number } | { kind: 'release' };

const PASSWORD = 'bench password 123';

function one(port: number, hold = false): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () =>
      c.sftp((err, sftp) => {
        if (err) return reject(err);
        sftp.readdir('.', (e) => {
          if (e) return reject(e);
          if (hold) resolve(c);
          else c.end();
        });
      }),
    );
    c.on('close', () => resolve(c));
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port, username: 'bench', password: PASSWORD, readyTimeout: 120_000 });
  });
}

async function client(): Promise<void> {
  let held: ssh2.Client[] = [];
  process.on('message', (ask: Ask) => {
    void (async () => {
      if (ask.kind === 'cycle') {
        let next = 0;
        await Promise.all(
          Array.from({ length: ask.concurrency }, async () => {
            while (next < ask.sessions) {
              next++;
              await one(ask.port);
            }
          }),
        );
      } else if (ask.kind === 'hold') {
        for (let i = 0; i < ask.sessions; i++) held.push(await one(ask.port, true));
      } else {
        await Promise.all(
          held.map(
            (c) =>
              new Promise<void>((r) => {
                c.once('close', () => r());
                c.end();
              }),
          ),
        );
        held = [];
      }
      process.send!('done');
    })().catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
  });
}

if (process.argv[2] === '--client') {
  await client();
} else {
  await serve();
}

async function serve(): Promise<void> {
  const [sessions = 1000, cycles = 4, concurrency = 20, idle = 200] = process.argv.slice(2).map(Number);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const { parseConfig } = await import('../src/config/load.ts');
  const { startServer } = await import('../src/server.ts');
  const { cliActor } = await import('../src/admin/actor.ts');
  const { UserService } = await import('../src/admin/user-service.ts');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'pc-mem-'));
  const config = parseConfig({
    dataDir: path.join(dir, 'data'),
    log: { level: 'silent' },
    sftp: { address: '127.0.0.1', port: 0 },
    ftps: { enabled: false },
    metrics: { port: 0 },
    defender: { enabled: false },
    mfa: { required: false },
    rateLimits: { connectionsPerSecond: 0 },
    // one client address opens every session: the pre-authentication gate (issue 14) would drop some
    limits: { maxSessionsPerUser: 4096, maxConnections: 8192, maxConnectionsPerAddress: 4096, maxUnauthenticated: 4096, maxUnauthenticatedPerAddress: 4096, unauthenticatedDropFrom: 4096 },
  });
  const server = await startServer({ config, file: null, fromEnv: [] }, () => undefined);
  await new UserService(server.core.store, server.core.audit, config.dataDir).create(cliActor(), 'bench', { password: PASSWORD });
  const port = server.listeners.find((l) => l.name.startsWith('sftp'))!.port;

  // LD_PRELOAD stays with the server (a native memory profiler such as heaptrack traces it alone).
  const { LD_PRELOAD: _preload, ...env } = process.env;
  const child = fork(import.meta.filename, ['--client'], { execArgv: ['--import', 'tsx'], stdio: 'inherit', env });
  const ask = (a: Ask) =>
    new Promise<void>((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`client exited ${code}`));
      child.once('exit', exited);
      child.once('message', () => {
        child.off('exit', exited);
        resolve();
      });
      child.send(a);
    });

  /** Anonymous memory (heaps, allocator arenas) from /proc/self/smaps_rollup, in MiB. */
  function anonMiB(): number {
    const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
    return Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) / 1024;
  }
  /** Anonymous memory of glibc's main arena ([heap]) and of V8's 256 KiB pages, in MiB. */
  function parts(): { brk: number; pages: number } {
    let brk = 0, pages = 0, kind = '';
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const h = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (h) kind = h[3] === '[heap]' ? 'brk' : !h[3] && parseInt(h[2]!, 16) - parseInt(h[1]!, 16) === 256 * 1024 ? 'pages' : '';
      const a = /^Anonymous:\s+(\d+)/.exec(line);
      if (a && kind === 'brk') brk += Number(a[1]);
      if (a && kind === 'pages') pages += Number(a[1]);
    }
    return { brk: brk / 1024, pages: pages / 1024 };
  }
  // V8 keeps freed heap pages in a pool for a few seconds (--memory-pool-timeout=8) before unmapping
  // them: a shorter wait counts them as retained (run at 1 s, they were up to 55 MiB of "growth").
  const settleMs = Number(process.env.SETTLE_MS ?? 15_000);
  async function settle() {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, settleMs / 5));
      gc!();
    }
    const m = process.memoryUsage();
    const mib = (n: number) => n / 2 ** 20;
    return { rss: mib(m.rss), heapUsed: mib(m.heapUsed), heapTotal: mib(m.heapTotal), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers), anon: anonMiB(), malloced: mib(getHeapStatistics().malloced_memory), ...parts() };
  }
  type M = Awaited<ReturnType<typeof settle>>;
  const fmt = (m: M) =>
    `rss ${m.rss.toFixed(1)}  anon ${m.anon.toFixed(1)}  heapUsed ${m.heapUsed.toFixed(1)} (committed ${m.heapTotal.toFixed(1)})  external ${m.external.toFixed(1)}  arrayBuffers ${m.arrayBuffers.toFixed(1)}  [heap] ${m.brk.toFixed(1)}  256K pages ${m.pages.toFixed(1)}  V8 malloced ${m.malloced.toFixed(1)} MiB`;
  const cpu0 = process.cpuUsage();

  await ask({ kind: 'cycle', port, sessions: 1, concurrency: 1 }); // warm up: first-use allocations are not a leak
  const start = await settle();
  console.log(`server, ${sessions} sessions per cycle, ${concurrency} at a time (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  console.log(`start      ${fmt(start)}`);
  if (process.env.SNAPSHOTS) writeHeapSnapshot(path.join(process.env.SNAPSHOTS, 'before.heapsnapshot'));
  if (process.env.SMAPS) writeFileSync(path.join(process.env.SMAPS, 'smaps.0'), readFileSync('/proc/self/smaps'));
  let last = start;
  for (let c = 1; c <= cycles; c++) {
    await ask({ kind: 'cycle', port, sessions, concurrency });
    last = await settle();
    if (process.env.SMAPS) writeFileSync(path.join(process.env.SMAPS, `smaps.${c}`), readFileSync('/proc/self/smaps'));
    console.log(`cycle ${String(c).padEnd(4)} ${fmt(last)}  (open sessions ${server.core.sessions.size}, connections ${server.core.admission.connectionCount})`);
  }
  if (process.env.SNAPSHOTS) writeHeapSnapshot(path.join(process.env.SNAPSHOTS, 'after.heapsnapshot'));
  const pct = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(0)} %`;
  console.log(`growth     rss ${(last.rss - start.rss).toFixed(1)} MiB (${pct(start.rss, last.rss)}), anon ${(last.anon - start.anon).toFixed(1)} MiB, heapUsed ${(last.heapUsed - start.heapUsed).toFixed(1)} MiB (${pct(start.heapUsed, last.heapUsed)})`);

  if (process.env.PAUSE_S) {
    console.log(`pausing ${process.env.PAUSE_S} s: pid ${process.pid}`);
    await new Promise((r) => setTimeout(r, Number(process.env.PAUSE_S) * 1000));
    const m = await settle();
    console.log(`after      ${fmt(m)}`);
  }
  if (idle > 0) {
    const before = await settle();
    await ask({ kind: 'hold', port, sessions: idle });
    const held = await settle();
    const kib = (a: number, b: number) => (((b - a) * 1024) / idle).toFixed(1);
    console.log(`idle       ${idle} sessions open (server counts ${server.core.sessions.size}): per session rss ${kib(before.rss, held.rss)} KiB, anon ${kib(before.anon, held.anon)} KiB, heapUsed ${kib(before.heapUsed, held.heapUsed)} KiB, external+arrayBuffers ${kib(before.external + before.arrayBuffers, held.external + held.arrayBuffers)} KiB`);
    await ask({ kind: 'release' });
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(`server CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  child.kill();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
