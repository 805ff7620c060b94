// What object storage costs (issue 17): the same OpenSSH `sftp` upload and download of one file
// against two Portcullis servers, one on local disk (/dev/shm when there) and one on S3
// (s3rver from npm, itself on local disk, on this machine), interleaved over ROUNDS rounds.
// Prints MB/s for each and S3/local. s3rver is a JavaScript server on the same cores, so the S3
// figures include its own CPU: against a real S3 endpoint they are bounded by the network instead.
//   node --import tsx bench/storage-s3-vs-local.ts [--mib 256] [--rounds 3]
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import S3rver from 's3rver';

const run = promisify(execFile);
const { values: opts } = parseArgs({ options: { mib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } } });
const MIB = Number(opts.mib);
const ROUNDS = Number(opts.rounds);
const BIN = new URL('../bin/portcullis.js', import.meta.url).pathname;
const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const work = mkdtempSync(path.join(base, 'portcullis-s3bench-'));
const say = (s: string) => process.stdout.write(`${s}\n`);

const s3dir = path.join(work, 's3rver');
const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: 'bench' }] });
const { port: s3port } = await s3rver.run();
const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(work, 'id')]);
const file = path.join(work, 'payload.bin');
writeFileSync(file, randomBytes(MIB * 1024 * 1024));

async function server(name: string, storage: string): Promise<{ port: number; stop: () => void }> {
  const dir = path.join(work, name);
  const config = path.join(work, `${name}.yaml`);
  writeFileSync(config, [`dataDir: ${dir}`, 'log: { level: warn }', 'sftp: { address: 127.0.0.1, port: 0 }', 'ftps: { enabled: false }', 'metrics: { enabled: false }', 'mfa: { required: false }', storage].join('\n'));
  await run(process.execPath, [BIN, 'user', 'add', 'bench', '--key', path.join(work, 'id.pub'), '--config', config], { env: { ...process.env, ...S3_ENV } });
  const proc = spawn(process.execPath, [BIN, 'serve', '--config', config], { env: { ...process.env, ...S3_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  for (let i = 0; i < 300 && !/^ready$/m.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  const port = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  if (!port) throw new Error(`${name} did not start:\n${out}`);
  return { port, stop: () => proc.kill('SIGTERM') };
}

const local = await server('local', '');
const s3 = await server('s3', `storage: { type: s3, s3: { bucket: bench, endpoint: "http://127.0.0.1:${s3port}", forcePathStyle: true } }`);

async function sftp(port: number, batch: string): Promise<number> {
  const b = path.join(work, 'batch');
  writeFileSync(b, batch);
  const t0 = performance.now();
  await run('sftp', ['-q', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-i', path.join(work, 'id'), '-P', String(port), '-b', b, 'bench@127.0.0.1'], { maxBuffer: 1 << 20 });
  return (performance.now() - t0) / 1000;
}

const results: Record<string, number[]> = {};
const add = (k: string, seconds: number) => (results[k] ??= []).push(MIB / seconds);
say(`storage bench: ${MIB} MiB, ${ROUNDS} rounds, node ${process.version}, ${os.cpus().length} cores; local disk: ${base}; S3: s3rver on this machine`);
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [['local', local], ['s3', s3]] as const : [['s3', s3], ['local', local]] as const;
  for (const [name, srv] of order) {
    add(`${name} upload`, await sftp(srv.port, `put ${file} up.bin\n`));
    const got = path.join(work, `got-${name}.bin`);
    add(`${name} download`, await sftp(srv.port, `get up.bin ${got}\n`));
    if (statSync(got).size !== MIB * 1024 * 1024) throw new Error(`${name}: the download is ${statSync(got).size} bytes`);
    rmSync(got);
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
say('');
say('                 local MB/s     S3 MB/s    S3 / local');
for (const dir of ['upload', 'download']) {
  const l = mean(results[`local ${dir}`]!);
  const s = mean(results[`s3 ${dir}`]!);
  say(`${dir.padEnd(14)} ${l.toFixed(1).padStart(10)} ${s.toFixed(1).padStart(11)} ${(s / l).toFixed(2).padStart(12)}x`);
}
local.stop();
s3.stop();
await s3rver.close();
rmSync(work, { recursive: true, force: true });
process.exit(0);
