// Attack load (issue 14): a legitimate user logs in and transfers a file every second over SFTP
// and over FTPS, first against an idle server and then while, all at once,
//   - a brute force makes 10,000 password attempts from 50 addresses (SFTP and FTPS, half each),
//   - 512 silent sockets from 16 addresses are held open (and reopened when the server drops them),
//   - an attacker account grabs passive ports (EPSV in a loop from 4 FTPS sessions).
// It prints the legitimate user's p50/p99 login and transfer times in both phases, their ratio,
// every legitimate failure with its reason, what became of the attackers' attempts, and the
// server's CPU and memory. Target (issue 14): p99 login under attack < 2x idle, no legitimate
// failure. The server runs with its default limits and defender (only the ports, and MFA off so
// that a password login is the thing measured, differ), as its own process; the attackers run on
// the same machine and take CPU from it too, so the figures are an upper bound.
//
//   node --import tsx bench/attack-load.ts [--seconds 60] [--attempts 10000]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';
import { PASSWORD, RawFtp, readAll, USER } from '../test/ftps/helpers.ts';

const { values: opts } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, attempts: { type: 'string', default: '10000' }, 'legit-only': { type: 'string' } } });
const SECONDS = Number(opts.seconds);
const ATTEMPTS = Number(opts.attempts);
const BIN = new URL('../bin/portcullis.js', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stdout.write(`${s}\n`);

// --legit-only SFTP_PORT,FTPS_PORT: the legitimate user alone, in a process of its own (so the
// attackers' work in the main process never delays its event loop), printing its samples as JSON.
const legitOnly = opts['legit-only']?.split(',').map(Number);

// --- the server, as its own process ---------------------------------------------------------
const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-attack-'));
writeFileSync(path.join(dir, 'portcullis.yaml'), 'dataDir: ./data\nlog: { level: warn }\nsftp: { address: 127.0.0.1, port: 0 }\nftps: { address: 127.0.0.1, port: 0, implicitPort: null }\nmetrics: { enabled: false }\nmfa: { required: false }\n');

function cli(args: string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`portcullis ${args.join(' ')}: ${out}`))));
    c.stdin.end(stdin);
  });
}

if (!legitOnly) await cli(['user', 'add', USER, '--password-stdin'], `${PASSWORD}\n`);
if (!legitOnly) await cli(['user', 'add', 'mallory', '--password-stdin'], 'mallory has an account too\n');
const home = path.join(dir, 'data', 'home', USER);
mkdirSync(home, { recursive: true });
// The same bytes in both processes (the child checks what it downloads).
const SMALL = Buffer.alloc(64 * 1024, 'portcullis attack-load ');
if (!legitOnly) writeFileSync(path.join(home, 'small.bin'), SMALL);

const server = legitOnly ? null : spawn(process.execPath, [BIN, 'serve'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
let serverOut = '';
server?.stdout.on('data', (b: Buffer) => (serverOut += b.toString()));
server?.stderr.on('data', (b: Buffer) => (serverOut += b.toString()));
for (let i = 0; server && i < 300 && !/^ready$/m.test(serverOut); i++) await sleep(100);
const sftpPort = legitOnly ? legitOnly[0]! : Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(serverOut)?.[1]);
const ftpsPort = legitOnly ? legitOnly[1]! : Number(/ftps \(explicit\) listening on 127\.0\.0\.1:(\d+)/.exec(serverOut)?.[1]);
if (!(sftpPort > 0 && ftpsPort > 0)) throw new Error(`the server did not start:\n${serverOut}`);

/** The server's CPU seconds so far and its RSS, from /proc. */
function serverUsage(): { cpu: number; rssMb: number } {
  const stat = readFileSync(`/proc/${server!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server!.pid}/status`, 'utf8'))?.[1];
  return { cpu: ticks / 100, rssMb: Number(rss) / 1024 };
}

// --- the legitimate user --------------------------------------------------------------------
interface Sample {
  protocol: 'sftp' | 'ftps';
  loginMs?: number;
  transferMs?: number;
  error?: string;
}

function sftpRound(): Promise<Sample> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    const t0 = performance.now();
    let loginMs = 0;
    const fail = (error: string) => {
      c.end();
      resolve({ protocol: 'sftp', error });
    };
    const timer = setTimeout(() => fail('no result within 30 s'), 30_000);
    c.on('ready', () => {
      loginMs = performance.now() - t0;
      const t1 = performance.now();
      c.sftp((err, sftp) => {
        if (err) return fail(`sftp: ${err.message}`);
        sftp.readFile('small.bin', (e, data) => {
          clearTimeout(timer);
          if (e) return fail(`read: ${e.message}`);
          if (!data.equals(SMALL)) return fail('the file read differs');
          c.end();
          resolve({ protocol: 'sftp', loginMs, transferMs: performance.now() - t1 });
        });
      });
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      fail(`${(e as { level?: string }).level ?? 'error'}: ${e.message}`);
    });
    c.connect({ host: '127.0.0.1', port: sftpPort, localAddress: '127.0.3.1', username: USER, password: PASSWORD, readyTimeout: 30_000 });
  });
}

async function ftpsRound(): Promise<Sample> {
  const t0 = performance.now();
  let c: RawFtp | undefined;
  try {
    c = await RawFtp.login(ftpsPort, { localAddress: '127.0.3.2' });
    const loginMs = performance.now() - t0;
    const t1 = performance.now();
    const raw = await c.passive('127.0.3.2');
    c.send('RETR small.bin');
    const r150 = await c.next();
    if (r150?.code !== 150) throw new Error(`RETR: ${r150?.text.trim()}`);
    const data = await readAll(await c.dataTls(raw));
    const done = await c.next();
    if (done?.code !== 226) throw new Error(`RETR end: ${done?.text.trim()}`);
    if (!data.equals(SMALL)) throw new Error('the file read differs');
    return { protocol: 'ftps', loginMs, transferMs: performance.now() - t1 };
  } catch (err) {
    return { protocol: 'ftps', error: (err as Error).message };
  } finally {
    c?.close();
  }
}

async function legitimate(seconds: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const started = Date.now();
    samples.push(...(await Promise.all([sftpRound(), ftpsRound()])));
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
  return samples;
}

if (legitOnly) {
  process.stdout.write(JSON.stringify(await legitimate(SECONDS)));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

/** The legitimate user's rounds, run by a child process of this script. */
function legitimateElsewhere(seconds: number): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--legit-only', `${sftpPort},${ftpsPort}`, '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Sample[]) : reject(new Error(`the legitimate client exited with ${code}`))));
  });
}

// --- the attackers --------------------------------------------------------------------------
const attack = { attempts: 0, wrongPassword: 0, refused: 0, succeeded: 0, silentOpened: 0, silentDropped: 0, epsv: 0, epsvRefused: 0 };
let attacking = true;

function sshGuess(from: string, guess: string): Promise<void> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    const timer = setTimeout(() => c.end(), 20_000);
    let counted = false;
    const finish = (what: 'wrongPassword' | 'refused' | 'succeeded') => {
      clearTimeout(timer);
      if (counted) return;
      counted = true;
      attack[what]++;
      c.end();
      resolve();
    };
    c.on('ready', () => finish('succeeded'));
    c.on('error', (e) => finish((e as { level?: string }).level === 'client-authentication' ? 'wrongPassword' : 'refused'));
    c.on('close', () => finish('refused'));
    c.connect({ host: '127.0.0.1', port: sftpPort, localAddress: from, username: USER, password: guess, readyTimeout: 20_000, tryKeyboard: false });
  });
}

async function ftpsGuess(from: string, guess: string): Promise<void> {
  let c: RawFtp | undefined;
  try {
    c = await RawFtp.connect(ftpsPort, { localAddress: from });
    const banner = await c.next(20_000);
    if (banner?.code !== 220) return void attack.refused++;
    await c.startTls();
    if ((await c.cmd(`USER ${USER}`))?.code !== 331) return void attack.refused++;
    const r = await c.cmd(`PASS ${guess}`);
    if (r?.code === 230) attack.succeeded++;
    else if (r?.code === 530) attack.wrongPassword++;
    else attack.refused++;
  } catch {
    attack.refused++;
  } finally {
    c?.close();
  }
}

async function bruteForce(): Promise<void> {
  const workers = Array.from({ length: 50 }, async (_, w) => {
    const from = `127.0.1.${w + 1}`;
    while (attacking && attack.attempts < ATTEMPTS) {
      const n = attack.attempts++;
      const guess = `guess-${n}-${randomBytes(4).toString('hex')}`;
      await (n % 2 === 0 ? sshGuess(from, guess) : ftpsGuess(from, guess));
    }
  });
  await Promise.all(workers);
}

async function silentFlood(): Promise<void> {
  const hold = (i: number): Promise<void> =>
    new Promise((resolve) => {
      if (!attacking) return resolve();
      const s = net.connect({ host: '127.0.0.1', port: i % 2 ? sftpPort : ftpsPort, localAddress: `127.0.4.${(i % 16) + 1}` });
      s.on('connect', () => attack.silentOpened++);
      s.on('data', () => undefined); // read and say nothing
      s.on('error', () => undefined);
      s.on('close', () => {
        attack.silentDropped++;
        setTimeout(() => void hold(i).then(resolve), 250);
      });
      const stop = setInterval(() => {
        if (!attacking) {
          clearInterval(stop);
          s.removeAllListeners('close');
          s.destroy();
          resolve();
        }
      }, 500);
    });
  await Promise.all(Array.from({ length: 512 }, (_, i) => hold(i)));
}

async function passiveGrab(): Promise<void> {
  await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      let c: RawFtp | undefined;
      while (attacking) {
        try {
          c ??= await (async () => {
            const x = await RawFtp.connect(ftpsPort, { localAddress: `127.0.5.${i + 1}` });
            await x.next();
            await x.startTls();
            for (const [line, code] of [['PBSZ 0', 200], ['PROT P', 200], ['USER mallory', 331], ['PASS mallory has an account too', 230]] as const) {
              if ((await x.cmd(line))?.code !== code) throw new Error(line);
            }
            return x;
          })();
          const r = await c.cmd('EPSV');
          attack.epsv++;
          if (r?.code !== 229) attack.epsvRefused++;
          if (!r) c = undefined;
          await sleep(100);
        } catch {
          c?.close();
          c = undefined;
          await sleep(1000);
        }
      }
      c?.close();
    }),
  );
}

// --- the run --------------------------------------------------------------------------------
function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

let rssMax = 0;
const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, serverUsage().rssMb)), 1000);
say(`attack-load: node ${process.version}, ${os.cpus().length} cores, ${SECONDS} s per phase, ${ATTEMPTS} brute-force attempts; server pid ${server!.pid} (default limits and defender; MFA off); the legitimate user in a process of its own`);
const cpu0 = serverUsage().cpu;
say('phase 1: idle');
const idle = await legitimateElsewhere(SECONDS);
const cpu1 = serverUsage().cpu;
const rssIdle = rssMax;
say('phase 2: under attack');
const attackers = Promise.all([bruteForce(), silentFlood(), passiveGrab()]);
const t2 = Date.now();
const loaded = await legitimateElsewhere(SECONDS);
attacking = false;
await Promise.race([attackers, sleep(30_000)]);
const cpu2 = serverUsage().cpu;
clearInterval(rssTimer);
const attackSeconds = (Date.now() - t2) / 1000;

const bans = await cli(['ban', 'list']).catch((e: Error) => e.message);
server!.kill('SIGTERM');
await new Promise((r) => server!.on('exit', r));

const row = (label: string, samples: Sample[], key: 'loginMs' | 'transferMs', protocol: Sample['protocol']) => {
  const xs = samples.filter((s) => s.protocol === protocol && s[key] !== undefined).map((s) => s[key]!);
  return { label, p50: pct(xs, 50), p99: pct(xs, 99), n: xs.length };
};
say('');
say('legitimate user            idle p50   idle p99   attack p50   attack p99   p99 ratio   (samples per cell: one per second)');
for (const protocol of ['sftp', 'ftps'] as const) {
  for (const key of ['loginMs', 'transferMs'] as const) {
    const a = row('', idle, key, protocol);
    const b = row('', loaded, key, protocol);
    say(`${`${protocol} ${key === 'loginMs' ? 'login' : 'transfer (64 KiB)'}`.padEnd(26)} ${a.p50.toFixed(0).padStart(6)} ms  ${a.p99.toFixed(0).padStart(6)} ms  ${b.p50.toFixed(0).padStart(8)} ms  ${b.p99.toFixed(0).padStart(8)} ms  ${(b.p99 / a.p99).toFixed(2).padStart(8)}x${key === 'loginMs' ? (b.p99 < 2 * a.p99 ? '  (target < 2x: met)' : '  (target < 2x: NOT met)') : ''}`);
  }
}
const failures = [...idle, ...loaded].filter((s) => s.error);
say(`legitimate rounds: ${idle.length} idle, ${loaded.length} under attack; failures: ${failures.length}${failures.length ? '' : ' (target: none: met)'}`);
for (const f of failures.slice(0, 20)) say(`  ${f.protocol}: ${f.error}`);
say('');
say(`brute force: ${attack.attempts} attempts (of ${ATTEMPTS}; bans and the per-name throttle slow them) in ${attackSeconds.toFixed(0)} s: ${attack.wrongPassword} reached a password check, ${attack.refused} refused before it (bans, rate limits, caps), ${attack.succeeded} succeeded`);
say(`silent sockets: ${attack.silentOpened} opened, ${attack.silentDropped} dropped by the server (pre-authentication deadline and caps)`);
say(`passive grab: ${attack.epsv} EPSV, ${attack.epsvRefused} refused`);
say(`bans at the end: ${bans.trim().split('\n').length - 1}`);
say(`server CPU: ${(cpu1 - cpu0).toFixed(1)} s idle phase, ${(cpu2 - cpu1).toFixed(1)} s attack phase; RSS max ${rssIdle.toFixed(0)} MB idle, ${rssMax.toFixed(0)} MB under attack`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
