// workers: 2 (issue 21, docs/workers.md): `portcullis serve` as one command starts a primary and
// two worker processes sharing the listening sockets. OpenSSH sftp and lftp (FTPS, passive data
// connections on each worker's own slice of the range) transfers land on both workers (their
// records carry the worker's id) and the one hash-chained trail verifies. Attacks: a per-user
// session cap of 1 with the second session on the other worker; a brute force spread over both
// workers banned at the one-process threshold; a ban refusing the address in both at once. A
// worker killed with SIGKILL is replaced while the other keeps serving; sessions are listed and
// killed across workers from the CLI; SIGTERM stops everything.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import ssh2 from 'ssh2';
import { BIN, runCli } from '../helpers/cli.ts';
import { execFileAsync, makeTempDir } from '../helpers/server.ts';
import { refusedBeforeGreeting as refused, sftpSession } from '../helpers/probes.ts';
import { prepareTransfers, run, SERVE_CONFIG, SSH, type TransferFixture } from '../operations/transfers.ts';

const PASSWORD = 'correct horse battery';
const session = (port: number, from: string, user = 'alice', password = PASSWORD) => sftpSession(port, from, user, password);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Served {
  proc: ChildProcess;
  sftp: number;
  ftps: number;
  out: () => string;
  exited: Promise<number | null>;
}

async function serve(t: TestContext, dir: string): Promise<Served> {
  const proc = spawn(process.execPath, [BIN, 'serve'], { cwd: dir, env: { PORTCULLIS_QUIET_STALE: '1', ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  t.after(() => {
    // The workers too, should the primary have died without them.
    for (const m of out.matchAll(/"pid":(\d+)[^\n]*worker serving/g)) {
      try {
        process.kill(Number(m[1]), 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  for (let i = 0; i < 600 && !/^ready$/m.test(out); i++) await sleep(100);
  assert.match(out, /^ready$/m, out);
  return { proc, out: () => out, exited, sftp: Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]), ftps: Number(/ftps \(explicit\) listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]) };
}

type Rec = { event: string; worker?: number; remoteAddress?: string; protocol?: string; op?: string; code?: string; user?: string; connectionId?: string; outcome?: string };

async function trail(dir: string): Promise<Rec[]> {
  const text = await readFile(path.join(dir, 'data', 'audit', 'audit.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
}

/** The trail once `ready` holds of it (the workers' records reach the primary's writer in
 * batches; a loaded machine takes longer), or as it is after `ms`. */
async function trailWhen(dir: string, ready: (recs: Rec[]) => boolean, ms = 10_000): Promise<Rec[]> {
  let recs = await trail(dir);
  for (const end = Date.now() + ms; !ready(recs) && Date.now() < end; recs = await trail(dir)) await sleep(100);
  return recs;
}

async function within(ms: number, f: () => Promise<boolean>): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await f()) return true;
  return false;
}

async function setUp(t: TestContext, extra = ''): Promise<{ dir: string; f: TransferFixture; s: Served }> {
  const dir = await makeTempDir(t);
  const f = await prepareTransfers(dir);
  await writeFile(path.join(dir, 'portcullis.yaml'), `${SERVE_CONFIG}workers: 2\nftps: { address: 127.0.0.1, port: 0, implicitPort: 0, passivePorts: "40100-40199" }\n${extra}`.replace(/^ftps: \{ address: 127\.0\.0\.1, port: 0, implicitPort: 0 \}\n/m, ''));
  const s = await serve(t, dir);
  return { dir, f, s };
}

const workersOf = (recs: Rec[], pick: (r: Rec) => boolean) => new Set(recs.filter(pick).map((r) => r.worker));

test('workers: 2: OpenSSH sftp and lftp transfers are served by both workers, one verified trail, sessions across workers', { timeout: 180_000 }, async (t) => {
  const { dir, f, s } = await setUp(t);
  assert.match(s.out(), /2 worker processes share these listeners/);

  // Six OpenSSH downloads at once, and four lftp sessions each with several passive transfers.
  const downloads = Array.from({ length: 6 }, async (_, i) => {
    const batch = path.join(dir, `batch-${i}`);
    await writeFile(batch, `get big.bin ${path.join(dir, `got-${i}.bin`)}\n`);
    return run('sftp', [...SSH, '-i', f.key, '-P', String(s.sftp), '-b', batch, 'alice@127.0.0.1']).done;
  });
  const lftps = Array.from({ length: 4 }, (_, i) => {
    const script = [`set ssl:ca-file ${path.join(dir, 'data', 'tls', 'cert.pem')}`, 'set ftp:ssl-force true', 'set ftp:ssl-protect-data true', 'set ftp:passive-mode true', 'set net:max-retries 1', 'set cmd:fail-exit true', `open -u "alice,${PASSWORD}" ftp://127.0.0.1:${s.ftps}`];
    for (let j = 0; j < 5; j++) script.push(`put ${path.join(dir, 'up.bin')} -o up-${i}-${j}.bin`, `get up-${i}-${j}.bin -o ${path.join(dir, `back-${i}-${j}.bin`)}`, 'ls');
    return run('lftp', ['-c', script.join('\n')]).done;
  });
  for (const r of await Promise.all([...downloads, ...lftps])) assert.equal(r.code, 0, r.out);
  for (let i = 0; i < 6; i++) assert.ok((await readFile(path.join(dir, `got-${i}.bin`))).equals(f.big), `download ${i} intact`);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) assert.ok((await readFile(path.join(dir, `back-${i}-${j}.bin`))).equals(f.up), `FTPS round trip ${i}/${j} intact`);

  await sleep(500);
  const recs = await trail(dir);
  const sftpWorkers = workersOf(recs, (r) => r.event === 'file.download.completed' && r.protocol === 'sftp');
  const ftpsWorkers = workersOf(recs, (r) => r.event === 'file.upload.completed' && r.protocol === 'ftps');
  assert.deepEqual([...sftpWorkers].sort(), [1, 2], `SFTP downloads served by both workers: ${[...sftpWorkers].join(',')}`);
  assert.deepEqual([...ftpsWorkers].sort(), [1, 2], `FTPS transfers served by both workers: ${[...ftpsWorkers].join(',')}`);
  const verify = await runCli(['audit', 'verify'], { cwd: dir });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);

  // Sessions on both workers are listed by the CLI (through the primary) and killed where they run.
  const open = await Promise.all([0, 1, 2, 3].map(() => session(s.sftp, '127.0.0.40')));
  const list = await runCli(['sessions', 'list', '--json'], { cwd: dir });
  assert.equal(list.code, 0, list.stderr);
  const listed = (JSON.parse(list.stdout) as { id: string; address: string }[]).filter((x) => x.address === '127.0.0.40');
  assert.equal(listed.length, 4, list.stdout);
  const accepted = await trail(dir);
  const where = new Set(listed.map((l) => accepted.find((r) => r.event === 'conn.accepted' && r.connectionId === l.id)?.worker));
  assert.deepEqual([...where].sort(), [1, 2], 'the four sessions are on both workers');
  for (const l of listed) assert.equal((await runCli(['sessions', 'kill', l.id], { cwd: dir })).code, 0);
  for (const o of open) if (o.ok) await Promise.race([o.closed, sleep(5_000).then(() => assert.fail('a killed session stayed open'))]);

  // SIGTERM: the primary drains the workers and exits; no process is left.
  s.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  const pids = [...s.out().matchAll(/"pid":(\d+)[^\n]*worker serving/g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'worker stopped with the primary');
});


/** One wrong password in one connection. */
function guess(port: number, from: string, i: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const c = new ssh2.Client();
    c.on('error', () => resolve());
    c.on('close', () => resolve());
    c.on('ready', () => {
      c.end();
      resolve();
    });
    c.connect({ host: '127.0.0.1', port, localAddress: from, username: 'alice', password: `wrong-${i}`, readyTimeout: 15_000, tryKeyboard: false });
  });
}


test('workers: 2 attacks: session cap across workers, a brute force spread over workers, a ban in every worker at once', { timeout: 180_000 }, async (t) => {
  // The defender on (threshold 15, a wrong password scores 1), the poll of the store slow (60 s),
  // so that a ban reaching both workers at once is the primary's doing.
  // The per-user failure throttle (shared by the workers too) would slow the 16 guesses by seconds
  // each; it has its own test (src/workers/hub.test.ts), so it starts late here.
  const { dir, s } = await setUp(t, 'defender: { enabled: true }\naccess: { refreshSeconds: 60 }\nrateLimits: { connectionsPerSecond: 0, userFailuresBeforeDelay: 100 }\n');

  // A cap of one session: the first holds it; more sessions, landing on both workers, are refused.
  assert.equal((await runCli(['user', 'set', 'alice', '--max-sessions', '1'], { cwd: dir })).code, 0);
  const first = await session(s.sftp, '127.0.0.50');
  assert.equal(first.ok, true, JSON.stringify(first));
  for (let i = 0; i < 3; i++) assert.equal((await session(s.sftp, '127.0.0.50')).ok, false, `session ${i + 2} refused`);
  const capped = await trailWhen(dir, (recs) => recs.filter((r) => r.event === 'session.refused' && r.code === 'ERR_AUTH_TOO_MANY_SESSIONS').length >= 3);
  const refusedOn = workersOf(capped, (r) => r.event === 'session.refused' && r.code === 'ERR_AUTH_TOO_MANY_SESSIONS');
  const heldOn = capped.find((r) => r.event === 'auth.succeeded' && r.user === 'alice' && r.remoteAddress === '127.0.0.50')?.worker;
  assert.ok(heldOn !== undefined, 'the first session is in the trail');
  assert.ok([...refusedOn].some((w) => w !== heldOn), `a second session on the other worker (held on ${heldOn}, refused on ${[...refusedOn].join(',')}) is refused`);
  if (first.ok) {
    first.end();
    await first.closed;
  }
  assert.ok(await within(5_000, async () => {
    const again = await session(s.sftp, '127.0.0.50');
    if (again.ok) again.end();
    return again.ok;
  }), 'the slot is free again once the first session ends');

  // A brute force spread over both workers: 16 guesses, 8 on each; one process bans at 15.
  const spreader = '127.0.0.51';
  // (No probe in between: node:cluster hands connections out in turn, so probes and guesses
  // alternating would put every guess on one worker.)
  for (let i = 0; i < 16; i++) await guess(s.sftp, spreader, i);
  const bf = await trailWhen(dir, (recs) => recs.some((r) => r.event === 'policy.ban.added' && r.remoteAddress === spreader));
  const failures = bf.filter((r) => r.event === 'auth.failed' && r.remoteAddress === spreader);
  const perWorker = [1, 2].map((w) => failures.filter((r) => r.worker === w).length);
  assert.ok(perWorker.every((n) => n > 0 && n < 15), `the guesses landed on both workers, under the threshold on each: ${perWorker.join(',')}`);
  assert.ok(bf.some((r) => r.event === 'policy.ban.added' && r.remoteAddress === spreader), 'banned at the shared threshold');
  assert.ok(failures.length <= 15, `banned by the 15th wrong password as in one process (${failures.length}): ${JSON.stringify(bf.filter((r) => r.remoteAddress === spreader).map((r) => [r.event, r.worker, r.code]))}`);

  // The ban holds in both workers at once: every connection refused, on both.
  for (let i = 0; i < 6; i++) assert.equal(await refused(s.sftp, spreader), true, `connection ${i} refused`);
  const after = await trailWhen(dir, (recs) => recs.filter((r) => r.event === 'conn.refused' && r.remoteAddress === spreader && r.code === 'ERR_ADMISSION_BANNED').length >= 6);
  const bannedOn = workersOf(after, (r) => r.event === 'conn.refused' && r.remoteAddress === spreader && r.code === 'ERR_ADMISSION_BANNED');
  assert.deepEqual([...bannedOn].sort(), [1, 2], `refused as banned by both workers: ${[...bannedOn].join(',')}`);
  assert.equal(await refused(s.sftp, '127.0.0.52'), false, 'others still get in');
});

/** A silent client: resolves with the open socket once greeted, or null when closed unread. */
function silent(port: number, from: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
    sock.on('error', () => undefined);
    sock.once('data', () => resolve(sock));
    sock.on('close', () => resolve(null));
  });
}

test('workers: 2 attacks: the connection caps and the pre-authentication gate hold for the node, not per worker', { timeout: 180_000 }, async (t) => {
  const { dir, s } = await setUp(t, 'limits: { maxConnectionsPerAddress: 4, maxUnauthenticatedPerAddress: 2 }\nrateLimits: { connectionsPerSecond: 0 }\n');

  // Six silent sockets from one address, handed to the workers in turn: two may wait to log in
  // on the node (each worker counting its own would let four wait).
  const socks: (net.Socket | null)[] = [];
  for (let i = 0; i < 6; i++) socks.push(await silent(s.sftp, '127.0.0.60'));
  t.after(() => socks.forEach((c) => c?.destroy()));
  assert.equal(socks.filter(Boolean).length, 2, 'two waiting connections for the node');
  const gated = (await trailWhen(dir, (recs) => recs.filter((r) => r.event === 'conn.refused' && r.remoteAddress === '127.0.0.60').length >= 4)).filter((r) => r.event === 'conn.refused' && r.remoteAddress === '127.0.0.60');
  assert.equal(gated.length, 4);
  assert.ok(gated.every((r) => r.code === 'ERR_ADMISSION_TOO_MANY_UNAUTHENTICATED'), JSON.stringify(gated));
  socks.forEach((c) => c?.destroy());

  // Four logged-in sessions from one address, on both workers; a fifth connection is refused at
  // limits.maxConnectionsPerAddress before a byte (each worker counting its own would allow 8).
  const held = [];
  for (let i = 0; i < 4; i++) {
    const one = await session(s.sftp, '127.0.0.61');
    assert.equal(one.ok, true, JSON.stringify(one));
    if (one.ok) held.push(one);
  }
  for (let i = 0; i < 2; i++) assert.equal(await refused(s.sftp, '127.0.0.61'), true, `connection ${i + 5} refused`);
  const capped = await trailWhen(dir, (recs) => recs.filter((r) => r.event === 'conn.refused' && r.remoteAddress === '127.0.0.61').length >= 2);
  assert.deepEqual([...workersOf(capped, (r) => r.event === 'auth.succeeded' && r.remoteAddress === '127.0.0.61')].sort(), [1, 2], 'the sessions are on both workers');
  const refusals = capped.filter((r) => r.event === 'conn.refused' && r.remoteAddress === '127.0.0.61');
  assert.ok(refusals.length === 2 && refusals.every((r) => r.code === 'ERR_ADMISSION_TOO_MANY_FROM_ADDRESS'), JSON.stringify(refusals));
  // Closed sessions give their connections back to the node's count.
  for (const h of held) {
    h.end();
    await h.closed;
  }
  assert.ok(await within(5_000, async () => !(await refused(s.sftp, '127.0.0.61'))), 'admitted again once the sessions closed');
});

test('workers: 2 attack: the disk under the primary\'s trail fills up: both workers refuse new sessions until it has room, and the refusals are written after', { timeout: 180_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs: run it as root (CI does)');
  // Not makeTempDir: the mount must go after the server has stopped, and the folder after it.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-workers-diskfull-'));
  const trailDir = path.join(dir, 'data', 'audit');
  let mounted = false;
  const cleanUp = async () => {
    if (mounted) await execFileAsync('umount', ['-l', trailDir]);
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  let s: Served;
  try {
    await prepareTransfers(dir);
    // The trail written so far (the CLI's user add) moves onto a 256 KiB tmpfs.
    await rename(trailDir, `${trailDir}.before`);
    await mkdir(trailDir, { mode: 0o700 });
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', trailDir]);
    mounted = true;
    await cp(`${trailDir}.before`, trailDir, { recursive: true });
    await writeFile(path.join(dir, 'portcullis.yaml'), `${SERVE_CONFIG.replace(/^ftps: .*\n/m, '')}workers: 2\nftps: { address: 127.0.0.1, port: 0, implicitPort: 0, passivePorts: "40200-40299" }\nrateLimits: { connectionsPerSecond: 0 }\n`);
    s = await serve(t, dir);
  } catch (err) {
    await cleanUp();
    throw err;
  }
  t.after(async () => {
    if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
    await s.exited;
    await cleanUp();
  });
  const first = await session(s.sftp, '127.0.0.70');
  assert.equal(first.ok, true, 'a session works before');
  if (first.ok) first.end();

  // Fill the file system: the primary's writer gets ENOSPC on its next append.
  await writeFile(path.join(trailDir, 'filler'), Buffer.alloc(1024 * 1024)).catch((err: NodeJS.ErrnoException) => assert.equal(err.code, 'ENOSPC'));
  assert.ok(await within(20_000, async () => {
    const one = await session(s.sftp, '127.0.0.70');
    if (one.ok) one.end();
    return !one.ok;
  }), 'the trail noticed the full disk: a session is refused');
  // Every new session now, on both workers in turn, is refused.
  for (let i = 0; i < 4; i++) {
    const one = await session(s.sftp, '127.0.0.70');
    if (one.ok) one.end();
    assert.equal(one.ok, false, `session ${i + 1} refused while the trail cannot be written`);
  }
  await rm(path.join(trailDir, 'filler'));
  assert.ok(await within(30_000, async () => {
    const one = await session(s.sftp, '127.0.0.70');
    if (one.ok) one.end();
    return one.ok;
  }), 'sessions start again once there is room');
  const recs = await trailWhen(dir, (r) => r.some((x) => x.event === 'audit.storage.recovered'));
  const refusedOn = workersOf(recs, (r) => r.event === 'session.refused' && r.code === 'ERR_AUDIT_UNAVAILABLE');
  assert.deepEqual([...refusedOn].sort(), [1, 2], `both workers refused, and their refusals were written once there was room: ${[...refusedOn].join(',')}`);
});

test('workers: 2: a worker killed with SIGKILL is replaced, the other serves meanwhile', { timeout: 180_000 }, async (t) => {
  const { dir, f, s } = await setUp(t);
  const pids = [...s.out().matchAll(/"pid":(\d+)[^\n]*worker serving/g)].map((m) => Number(m[1]));
  assert.equal(pids.length, 2, s.out());
  process.kill(pids[0]!, 'SIGKILL');
  // Once the primary has seen the death (a connection handed to the worker in the instant it
  // dies goes with it: docs/workers.md), downloads succeed while the replacement starts.
  assert.ok(await within(10_000, async () => /worker \d \(pid \d+\) died \(SIGKILL\)/.test(s.out())), s.out());
  const bounded = ['-o', 'ConnectTimeout=20', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3'];
  const batch = path.join(dir, 'batch-k');
  await writeFile(batch, `get big.bin ${path.join(dir, 'got-k.bin')}\n`);
  for (let i = 0; i < 3; i++) {
    const r = await run('sftp', [...SSH, ...bounded, '-i', f.key, '-P', String(s.sftp), '-b', batch, 'alice@127.0.0.1']).done;
    assert.equal(r.code, 0, r.out);
    assert.ok((await readFile(path.join(dir, 'got-k.bin'))).equals(f.big));
  }
  assert.ok(await within(15_000, async () => /worker \d \(pid \d+\) died \(SIGKILL\)/.test(s.out()) && [...s.out().matchAll(/worker serving/g)].length === 3), `logged and replaced:\n${s.out()}`);
  const recs = await trail(dir);
  assert.ok(recs.some((r) => r.event === 'server.worker.exited'), 'audited');
  // The replacement serves too.
  const served = new Set<number | undefined>();
  for (let i = 0; i < 4; i++) {
    const r = await run('sftp', [...SSH, ...bounded, '-i', f.key, '-P', String(s.sftp), '-b', batch, 'alice@127.0.0.1']).done;
    assert.equal(r.code, 0, r.out);
  }
  await sleep(300);
  for (const r of await trail(dir)) if (r.event === 'file.download.completed') served.add(r.worker);
  assert.ok(served.size >= 2 && [...served].some((w) => (w ?? 0) > 2), `the replacement (worker id 3) served: ${[...served].join(',')}`);
});
