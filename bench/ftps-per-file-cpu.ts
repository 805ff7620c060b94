// Server CPU per small file over FTPS (issue 21): lftp in its own process mirrors N files of
// 4 KiB up (`mirror -R`) and back down (`mirror`), one transfer at a time, against a server in
// this process, whose CPU time (process.cpuUsage: the client is not counted) is divided by N.
// FTPS shares Session and the Vfs with SFTP; each file also costs a data connection and its
// resumed TLS handshake.
//   node --import tsx bench/ftps-per-file-cpu.ts [N=500]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/config/load.ts';
import { startServer } from '../src/server.ts';
import { cliActor } from '../src/admin/actor.ts';
import { UserService } from '../src/admin/user-service.ts';
const N = Number(process.argv[2] ?? 500);
const dir = mkdtempSync(path.join(os.tmpdir(), 'pc-ftps-perfile-'));
const src = path.join(dir, 'src'); mkdirSync(src);
for (let i = 0; i < N; i++) writeFileSync(path.join(src, `f${i}.bin`), Buffer.alloc(4096, i));
execFileSync('lftp', ['--version'], { stdio: 'ignore' });
const config = parseConfig({ dataDir: path.join(dir, 'data'), log: { level: 'silent' }, sftp: { enabled: false }, ftps: { address: '127.0.0.1', port: 0, implicitPort: null, passivePorts: '51200-51400' }, metrics: { port: 0 }, defender: { enabled: false }, mfa: { required: false }, rateLimits: { connectionsPerSecond: 0 } });
const server = await startServer({ config, file: null, fromEnv: [] }, () => undefined);
const password = 'bench-password-not-secret-1';
await new UserService(server.core.store, server.core.audit, config.dataDir).create(cliActor(), 'bench', { password });
const port = server.listeners.find((l) => l.name.startsWith('ftps'))!.port;
const settings = 'set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; set mirror:parallel-transfer-count 1';
for (const [label, command] of [['up', `mirror -R ${src} up`], ['down', `mirror up ${path.join(dir, 'down')}`]] as const) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => { const p = spawn('lftp', ['-c', `${settings}; open -u bench,${password} ftp://127.0.0.1:${port}; ${command}`], { stdio: ['ignore', 'ignore', 'pipe'] }); let stderr = ''; p.stderr.on('data', (d: Buffer) => (stderr += d.toString())); p.on('close', (status) => resolve({ status, stderr })); });
  const cpu = process.cpuUsage(c0); const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(r.stderr);
  console.log(`${label}: ${N} files in ${(ms / 1000).toFixed(2)} s (${(N / (ms / 1000)).toFixed(0)} files/s), server CPU ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms/file (user ${(cpu.user / 1000 / N).toFixed(3)}, sys ${(cpu.system / 1000 / N).toFixed(3)})`);
}
await server.stop();
rmSync(dir, { recursive: true, force: true });
