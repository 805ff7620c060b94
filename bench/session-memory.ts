// Memory that is never given back (issue 21): opens and closes N SFTP sessions (ssh2 client:
// connect, password login, SFTP channel, one listing, close) in cycles against a server in this
// process, and prints heap and RSS after a full GC before the first cycle and after each one.
// Heap growth is retained objects (a leak); RSS growth with a flat heap is the allocator.
//   node --expose-gc --import tsx bench/session-memory.ts [SESSIONS=1000] [CYCLES=4] [CONCURRENCY=20]
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import ssh2 from 'ssh2';
import { parseConfig } from '../src/config/load.ts';
import { startServer } from '../src/server.ts';
import { cliActor } from '../src/admin/actor.ts';
import { UserService } from '../src/admin/user-service.ts';

const [sessions = 1000, cycles = 4, concurrency = 20] = process.argv.slice(2).map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

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
await new UserService(server.core.store, server.core.audit, config.dataDir).create(cliActor(), 'bench', { password: 'bench password 123' });
const port = server.listeners.find((l) => l.name.startsWith('sftp'))!.port;

function one(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () =>
      c.sftp((err, sftp) => {
        if (err) return reject(err);
        sftp.readdir('.', (e) => {
          if (e) return reject(e);
          c.end();
        });
      }),
    );
    c.on('close', () => resolve());
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port, username: 'bench', password: 'bench password 123', readyTimeout: 120_000 });
  });
}

/** RssAnon / RssFile from /proc: anonymous memory (heaps, allocator) vs mapped files. */
function rssParts(): { anonMiB: number; fileMiB: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) / 1024;
  return { anonMiB: kb('RssAnon'), fileMiB: kb('RssFile') };
}

async function settle(): Promise<{ heapMiB: number; heapTotalMiB: number; rssMiB: number; externalMiB: number; anonMiB: number; fileMiB: number }> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 200));
    gc!();
  }
  const m = process.memoryUsage();
  return { heapMiB: m.heapUsed / 2 ** 20, heapTotalMiB: m.heapTotal / 2 ** 20, rssMiB: m.rss / 2 ** 20, externalMiB: (m.external + m.arrayBuffers) / 2 ** 20, ...rssParts() };
}

const fmt = (m: Awaited<ReturnType<typeof settle>>) =>
  `heap ${m.heapMiB.toFixed(1)} MiB (committed ${m.heapTotalMiB.toFixed(1)})  external ${m.externalMiB.toFixed(1)} MiB  rss ${m.rssMiB.toFixed(1)} MiB (anon ${m.anonMiB.toFixed(1)}, files ${m.fileMiB.toFixed(1)})`;
await one(); // warm up: first-use allocations are not a leak
const start = await settle();
console.log(`start      ${fmt(start)}`);
if (process.env.SNAPSHOTS) writeHeapSnapshot(path.join(process.env.SNAPSHOTS, 'before.heapsnapshot'));
for (let c = 1; c <= cycles; c++) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < sessions) {
        next++;
        await one();
      }
    }),
  );
  const m = await settle();
  console.log(`cycle ${c}    ${fmt(m)}  (open sessions ${server.core.sessions.size}, connections ${server.core.admission.connectionCount})`);
}
if (process.env.SNAPSHOTS) writeHeapSnapshot(path.join(process.env.SNAPSHOTS, 'after.heapsnapshot'));
const end = await settle();
console.log(`growth     heap ${(end.heapMiB - start.heapMiB).toFixed(1)} MiB (${(((end.heapMiB - start.heapMiB) / start.heapMiB) * 100).toFixed(0)} %), rss ${(end.rssMiB - start.rssMiB).toFixed(1)} MiB`);
await server.stop();
await rm(dir, { recursive: true, force: true });
