// Server CPU per small file over SFTP (issue 21): OpenSSH's sftp in its own process puts and then
// gets N files of 4 KiB (`put -r` / `get -r`) against a server in this process, whose CPU time
// (process.cpuUsage: the client is not counted) is divided by N. For a profile of where it goes:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/sftp-per-file-cpu.ts [N=1000]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/config/load.ts';
import { startServer } from '../src/server.ts';
import { cliActor } from '../src/admin/actor.ts';
import { UserService } from '../src/admin/user-service.ts';
const N = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'pc-perfile-'));
const src = path.join(dir, 'src'); mkdirSync(src);
for (let i = 0; i < N; i++) writeFileSync(path.join(src, `f${i}.bin`), Buffer.alloc(4096, i));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
const config = parseConfig({ dataDir: path.join(dir, 'data'), log: { level: 'silent' }, sftp: { address: '127.0.0.1', port: 0 }, ftps: { enabled: false }, metrics: { port: 0 }, defender: { enabled: false }, mfa: { required: false }, rateLimits: { connectionsPerSecond: 0 } });
const server = await startServer({ config, file: null, fromEnv: [] }, () => undefined);
await new UserService(server.core.store, server.core.audit, config.dataDir).create(cliActor(), 'bench', { publicKey: readFileSync(path.join(dir, 'key.pub'), 'utf8') });
const port = server.listeners.find((l) => l.name.startsWith('sftp'))!.port;
const ssh = ['-P', String(port), '-i', path.join(dir, 'key'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
for (const [label, batch] of [['up', `put -r ${src} up\n`], ['down', `get -r up ${path.join(dir, 'down')}\n`]] as const) {
  writeFileSync(path.join(dir, 'batch'), batch);
  const c0 = process.cpuUsage(); const t0 = performance.now();
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => { const p = spawn('sftp', [...ssh, '-b', path.join(dir, 'batch'), 'bench@127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] }); let stderr = ''; p.stderr.on('data', (d: Buffer) => (stderr += d.toString())); p.on('close', (status) => resolve({ status, stderr })); });
  const cpu = process.cpuUsage(c0); const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(r.stderr);
  console.log(`${label}: ${N} files in ${(ms / 1000).toFixed(2)} s (${(N / (ms / 1000)).toFixed(0)} files/s), server CPU ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms/file (user ${(cpu.user / 1000 / N).toFixed(3)}, sys ${(cpu.system / 1000 / N).toFixed(3)})`);
}
await server.stop();
rmSync(dir, { recursive: true, force: true });
