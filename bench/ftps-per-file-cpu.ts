// Server CPU per small file over FTPS (issue 21): lftp in its own process mirrors N files of
// 4 KiB up (`mirror -R`) and down (`mirror`) against a server in this process (explicit TLS,
// protected data connections, one transfer at a time as bench/ftps-vs-vsftpd.sh runs it), whose
// CPU time (process.cpuUsage: the client is not counted) is divided by N. For a profile:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/ftps-per-file-cpu.ts [N=1000]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/config/load.ts';
import { startServer } from '../src/server.ts';
import { cliActor } from '../src/admin/actor.ts';
import { UserService } from '../src/admin/user-service.ts';
const N = Number(process.argv[2] ?? 1000);
// In /dev/shm where there is one, as bench/ftps-vs-vsftpd.sh does: a disk file system's inode
// allocation (ext4's, for the upload's temporary file) would count in the server's CPU.
const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'pc-ftps-perfile-'));
const src = path.join(dir, 'src');
mkdirSync(src);
for (let i = 0; i < N; i++) writeFileSync(path.join(src, `f${i}.bin`), Buffer.alloc(4096, i));
const config = parseConfig({ dataDir: path.join(dir, 'data'), log: { level: 'silent' }, sftp: { enabled: false }, ftps: { address: '127.0.0.1', port: 0, implicitPort: 0, passivePorts: '40300-40399' }, metrics: { port: 0 }, defender: { enabled: false }, mfa: { required: false }, rateLimits: { connectionsPerSecond: 0 } });
const server = await startServer({ config, file: null, fromEnv: [] }, () => undefined);
await new UserService(server.core.store, server.core.audit, config.dataDir).create(cliActor(), 'bench', { password: 'bench password 123' });
const port = server.listeners.find((l) => l.name.startsWith('ftps') && !l.name.includes('implicit'))!.port;
const SET = 'set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; set mirror:parallel-transfer-count 1';
for (const [label, cmd] of [['up', `mirror -R ${src} up`], ['down', `mirror up ${path.join(dir, 'down')}`]] as const) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
    const p = spawn('lftp', ['-c', `${SET}; open -u bench,'bench password 123' ftp://127.0.0.1:${port}; ${cmd}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (status) => resolve({ status, out }));
  });
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(r.out);
  console.log(`${label}: ${N} files in ${(ms / 1000).toFixed(2)} s (${(N / (ms / 1000)).toFixed(0)} files/s), server CPU ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms/file (user ${(cpu.user / 1000 / N).toFixed(3)}, sys ${(cpu.system / 1000 / N).toFixed(3)})`);
}
await server.stop();
if (process.env.KEEP) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
