// Server CPU per GB of one big SFTP transfer (issue 21): OpenSSH's sftp in its own process puts
// and then gets one file of SIZE MiB (default 512, in /dev/shm) against a server in this
// process, once per cipher, and prints MB/s and the server's CPU per GB (process.cpuUsage: the
// client is not counted), user/sys, and V8's collections during the transfer. Every download is
// compared with the source (SHA-256). The load average is printed with every line.
//   node --import tsx bench/sftp-download-cpu.ts [SIZE_MiB=512] [cipher ...]
// Env DIRECTION=down (skip the measured upload: the file is still put once, unmeasured),
// BUFFER=bytes for `sftp -B` (OpenSSH's default asks for 32 KiB per READ).
// For a profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/sftp-download-cpu.ts
// or `perf record -g node --perf-basic-prof --import tsx bench/sftp-download-cpu.ts`.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, writeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { parseConfig } from '../src/config/load.ts';
import { startServer } from '../src/server.ts';
import { cliActor } from '../src/admin/actor.ts';
import { UserService } from '../src/admin/user-service.ts';

const SIZE_MIB = Number(process.argv[2] ?? 512);
const CIPHERS = process.argv.length > 3 ? process.argv.slice(3) : ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];
const DIRECTIONS = (process.env.DIRECTION ?? 'up,down').split(',');
const dir = mkdtempSync('/dev/shm/pc-download-');
const src = path.join(dir, 'big.bin');
{
  // Random bytes: a download that reorders or repeats 32 KiB pieces cannot match the hash.
  const fd = openSync(src, 'w');
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
}
const sha256 = (file: string) => new Promise<string>((resolve, reject) => { const h = createHash('sha256'); createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject); });
const srcHash = await sha256(src);
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
const config = parseConfig({ dataDir: path.join(dir, 'data'), log: { level: 'silent' }, sftp: { address: '127.0.0.1', port: 0 }, ftps: { enabled: false }, metrics: { port: 0 }, defender: { enabled: false }, mfa: { required: false }, rateLimits: { connectionsPerSecond: 0 } });
const server = await startServer({ config, file: null, fromEnv: [] }, () => undefined);
await new UserService(server.core.store, server.core.audit, config.dataDir).create(cliActor(), 'bench', { publicKey: readFileSync(path.join(dir, 'key.pub'), 'utf8') });
const port = server.listeners.find((l) => l.name.startsWith('sftp'))!.port;
const ssh = ['-P', String(port), '-i', path.join(dir, 'key'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', ...(process.env.BUFFER ? ['-B', process.env.BUFFER] : [])];

let majorGcs = 0;
let minorGcs = 0;
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    else minorGcs++;
    gcMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

async function run(label: string, cipher: string, batch: string): Promise<void> {
  writeFileSync(path.join(dir, 'batch'), batch);
  const g0 = { majorGcs, minorGcs, gcMs };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const p = spawn('sftp', [...ssh, '-c', cipher, '-b', path.join(dir, 'batch'), 'bench@127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stderr }));
  });
  const cpu = process.cpuUsage(c0);
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(r.stderr);
  const gb = (SIZE_MIB * 1024 * 1024) / 1e9;
  const perGb = (us: number) => (us / 1e6 / gb).toFixed(2);
  console.log(`${label.padEnd(4)} ${cipher.padEnd(30)} ${((SIZE_MIB * 1.048576) / s).toFixed(1).padStart(6)} MB/s  server CPU ${perGb(cpu.user + cpu.system)} s/GB (user ${perGb(cpu.user)}, sys ${perGb(cpu.system)})  GC ${minorGcs - g0.minorGcs} minor ${majorGcs - g0.majorGcs} major ${(gcMs - g0.gcMs).toFixed(0)} ms  load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

// Warm-up (unmeasured): JIT, pools, the file in place on the server.
await run('warm', CIPHERS[0]!, `put ${src} big.bin\nget big.bin ${path.join(dir, 'warm.bin')}\n`);
rmSync(path.join(dir, 'warm.bin'));
for (const cipher of CIPHERS) {
  if (DIRECTIONS.includes('up')) await run('up', cipher, `put ${src} big.bin\n`);
  if (DIRECTIONS.includes('down')) {
    const out = path.join(dir, 'down.bin');
    await run('down', cipher, `get big.bin ${out}\n`);
    const h = await sha256(out);
    if (h !== srcHash) throw new Error(`download differs from the source (${cipher})`);
    rmSync(out);
  }
}
await server.stop();
rmSync(dir, { recursive: true, force: true });
