// Multi-core (issue 21, docs/workers.md): aggregate throughput of 4×N concurrent OpenSSH sftp
// downloads (each its own process) from `portcullis serve` with `workers: N`, for N = 1, 2, …,
// the server pinned with taskset to its own cores and the clients to the others where the
// machine has enough (it says when they share). Prints MB/s, the server's CPU seconds (primary
// and workers, from /proc) and CPU per GB, and the load average before each round.
//   node --import tsx bench/multicore.ts [MIB=128] [ROUNDS=3] [WORKERS=1,2] [CIPHER=aes128-gcm@openssh.com]
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const [mib = 128, rounds = 3] = process.argv.slice(2, 4).map(Number);
const counts = (process.argv[4] ?? '1,2').split(',').map(Number);
const cipher = process.argv[5] ?? 'aes128-gcm@openssh.com';
const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'portcullis.js');
const cores = os.availableParallelism();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Server cores 0..n-1 and client cores n..; when there are not enough, they share (and say so). */
function pinning(n: number): { server: string; clients: string; shared: boolean } {
  if (n < cores) return { server: `0-${n - 1}`, clients: `${n}-${cores - 1}`, shared: false };
  return { server: `0-${cores - 1}`, clients: `0-${cores - 1}`, shared: true };
}

/** utime+stime of a process and its live descendants, seconds. */
function cpuOf(root: number): number {
  const tick = 100;
  let total = 0;
  const children = (pid: number): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const walk = (pid: number) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      return;
    }
    for (const c of children(pid)) walk(c);
  };
  walk(root);
  return total;
}

async function round(n: number): Promise<{ mbps: number; cpu: number; load: string; shared: boolean }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pc-multicore-'));
  try {
    await writeFile(path.join(dir, 'portcullis.yaml'), `dataDir: ./data\nworkers: ${n}\nlog: { level: warn }\nsftp: { address: 127.0.0.1, port: 0 }\nftps: { enabled: false }\nmetrics: { enabled: false }\nmfa: { required: false }\ndefender: { enabled: false }\nrateLimits: { connectionsPerSecond: 0 }\n`);
    const key = path.join(dir, 'id');
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    await exec(process.execPath, [BIN, 'user', 'add', 'bench', '--key', `${key}.pub`], { cwd: dir, env: { ...process.env, PORTCULLIS_QUIET_STALE: '1' } });
    const home = path.join(dir, 'data', 'home', 'bench');
    await mkdir(home, { recursive: true });
    await exec('dd', ['if=/dev/urandom', `of=${path.join(home, 'f.bin')}`, 'bs=1M', `count=${mib}`, 'status=none']);
    const pin = pinning(n);
    const server = spawn('taskset', ['-c', pin.server, process.execPath, BIN, 'serve'], { cwd: dir, env: { ...process.env, PORTCULLIS_QUIET_STALE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout.on('data', (c: Buffer) => (out += c.toString()));
    server.stderr.on('data', (c: Buffer) => (out += c.toString()));
    for (let i = 0; i < 600 && !/^ready$/m.test(out); i++) await sleep(100);
    const port = /sftp listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (!port) throw new Error(out);
    await writeFile(path.join(dir, 'batch'), 'get f.bin /dev/null\n');
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    const clients = 4 * n;
    const cpu0 = cpuOf(server.pid!);
    const t0 = performance.now();
    const codes = await Promise.all(
      Array.from({ length: clients }, () => {
        const c = spawn('taskset', ['-c', pin.clients, 'sftp', '-q', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', `Ciphers=${cipher}`, '-i', key, '-P', port, '-b', path.join(dir, 'batch'), 'bench@127.0.0.1'], { stdio: 'ignore' });
        return new Promise<number | null>((r) => c.on('exit', r));
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuOf(server.pid!) - cpu0;
    if (codes.some((c) => c !== 0)) throw new Error(`a download failed: ${codes.join(',')}`);
    server.kill('SIGTERM');
    await new Promise((r) => server.on('exit', r));
    return { mbps: (clients * mib * 1.048576) / seconds, cpu, load, shared: pin.shared };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`${cores} cores; ${mib} MiB per download; cipher ${cipher}; ${rounds} rounds, interleaved`);
const results = new Map<number, { mbps: number; cpu: number; load: string; shared: boolean }[]>();
for (let r = 0; r < rounds; r++) {
  for (const n of counts) {
    const x = await round(n);
    (results.get(n) ?? results.set(n, []).get(n)!).push(x);
    console.log(`round ${r + 1} workers ${n}: ${x.mbps.toFixed(0)} MB/s aggregate (${4 * n} downloads), server CPU ${x.cpu.toFixed(1)} s = ${((x.cpu / (4 * n * mib * 1.048576)) * 1000).toFixed(2)} s/GB, load before ${x.load}${x.shared ? ' (clients share the server cores: too few cores)' : ''}`);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const base = median(results.get(counts[0]!)!.map((x) => x.mbps));
for (const [n, xs] of results) {
  const m = median(xs.map((x) => x.mbps));
  console.log(`workers ${n}: median ${m.toFixed(0)} MB/s (${(m / base).toFixed(2)}x workers ${counts[0]}), CPU ${median(xs.map((x) => x.cpu / (4 * n * mib * 1.048576) * 1000)).toFixed(2)} s/GB`);
}
