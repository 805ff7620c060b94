// Two nodes (issue 17): separate `portcullis serve` processes on one PostgreSQL and one Redis,
// each with its own data directory and ports, polling the store for bans only once a minute
// (access.refreshSeconds: 60) so that anything faster is Redis' doing, and keeping files on one
// S3 server (s3rver, started here). A user created through node A's CLI logs in on node B, and a
// file uploaded through A is downloaded through B; a per-user session cap of 1 holds across the two; a ban made
// on A (by the CLI, and by A's defender after a brute force) refuses the address on B at once,
// and a brute force spread over both nodes adds up to one score;
// a session on B is listed and killed from A; a one-time code used on A is refused as a replay
// on B.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import ssh2 from 'ssh2';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { ssh2PasswordAndCode } from '../mfa/helpers.ts';
import { makeTempDir } from '../helpers/server.ts';
import { refusedBeforeGreeting as refused, sftpSession } from '../helpers/probes.ts';
import { BUCKET, CREDENTIALS, startS3 } from '../storage/s3-server.ts';

const PG_URL = process.env.PORTCULLIS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.PORTCULLIS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'correct horse battery staple';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const S3_ENV = { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey };

/** Every node started, stopped before their schema is dropped (after hooks run in order). */
const nodes: ChildProcess[] = [];

async function stopNodes(): Promise<void> {
  await Promise.all(nodes.splice(0).map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => {
    p.once('exit', r);
    p.kill('SIGKILL');
  }))));
}

async function node(_t: TestContext, dir: string): Promise<{ sftp: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [BIN, 'serve'], { cwd: dir, env: { PORTCULLIS_QUIET_STALE: '1', ...process.env, ...S3_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  nodes.push(proc);
  for (let i = 0; i < 300 && !/^ready$/m.test(out); i++) await sleep(100);
  const sftp = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  assert.ok(sftp > 0, out);
  return { sftp, proc };
}

/** A file written through one node's SFTP and read back through another's. */
function sftpFile(port: number, from: string, op: { write: Buffer } | { read: true }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () =>
      c.sftp((err, sftp) => {
        if (err) return reject(err);
        const done = (e: Error | null | undefined, data?: Buffer) => {
          c.end();
          if (e) reject(e);
          else resolve(data ?? Buffer.alloc(0));
        };
        if ('write' in op) sftp.writeFile('shared.bin', op.write, (e) => done(e));
        else sftp.readFile('shared.bin', (e, data) => done(e, data));
      }),
    );
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port, localAddress: from, username: 'alice', password: PASSWORD, readyTimeout: 15_000 });
  });
}

const session = (port: number, from: string) => sftpSession(port, from, 'alice', PASSWORD);
const loginWithCode = (port: number, from: string, code: string) => ssh2PasswordAndCode({ port, from, user: 'bob', password: PASSWORD, code });



async function within(ms: number, f: () => Promise<boolean>): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await f()) return true;
  return false;
}

interface Cluster {
  a: string;
  b: string;
  nodeA: { sftp: number };
  nodeB: { sftp: number };
}

async function twoNodes(t: TestContext, extra: string[] = []): Promise<Cluster> {
  const schema = `portcullis_cluster_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  t.after(async () => {
    await stopNodes();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });
  const storeUrl = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const prefix = `portcullis-test-${randomBytes(4).toString('hex')}:`;
  const s3 = await startS3(t);
  const config = (dir: string) =>
    [
      `dataDir: ${path.join(dir, 'data')}`,
      'log: { level: warn }',
      `store: { driver: postgres, url: "${storeUrl}" }`,
      `redis: { url: "${REDIS_URL}", keyPrefix: "${prefix}" }`,
      'sftp: { address: 127.0.0.1, port: 0 }',
      'ftps: { enabled: false }',
      'metrics: { enabled: false }',
      'mfa: { required: false }',
      'access: { refreshSeconds: 60 }',
      `storage: { type: s3, s3: { bucket: ${BUCKET}, endpoint: "${s3.endpoint}", forcePathStyle: true, prefix: "${prefix.replace(/:$/, '')}/{user}/" } }`,
      ...extra,
    ].join('\n');
  const [a, b] = [await makeTempDir(t), await makeTempDir(t)];
  await writeFile(path.join(a, 'portcullis.yaml'), config(a));
  await writeFile(path.join(b, 'portcullis.yaml'), config(b));

  const nodeA = await node(t, a);
  // The nodes share the key that encrypts TOTP secrets in the store (docs/cluster.md).
  await mkdir(path.join(b, 'data'), { recursive: true, mode: 0o700 });
  await copyFile(path.join(a, 'data', 'mfa.key'), path.join(b, 'data', 'mfa.key'));
  const nodeB = await node(t, b);
  return { a, b, nodeA, nodeB };
}

test('two nodes on one PostgreSQL and one Redis: users, session caps and bans are shared', { timeout: 180_000 }, async (t) => {
  const { a, b, nodeA, nodeB } = await twoNodes(t);

  // A user made through node A's CLI logs in on node B.
  assert.equal((await runCli(['user', 'add', 'alice', '--password-stdin', '--home', path.join(a, 'home-alice')], { cwd: a, stdin: `${PASSWORD}\n` })).code, 0);
  await mkdir(path.join(a, 'home-alice'), { recursive: true });
  // A file uploaded through A is downloaded through B (both on the same bucket).
  const content = randomBytes(3 * 1024 * 1024 + 17);
  await sftpFile(nodeA.sftp, '127.0.0.20', { write: content });
  assert.ok((await sftpFile(nodeB.sftp, '127.0.0.20', { read: true })).equals(content), 'the same bytes through B');

  const onB = await session(nodeB.sftp, '127.0.0.21');
  assert.equal(onB.ok, true, JSON.stringify(onB));

  // A cap of one session holds across the nodes, and frees when the session on B ends.
  assert.equal((await runCli(['user', 'set', 'alice', '--max-sessions', '1'], { cwd: a })).code, 0);
  const second = await session(nodeA.sftp, '127.0.0.21');
  assert.equal(second.ok, false, 'a second session on the other node is refused');
  if (onB.ok) onB.end();
  assert.ok(await within(10_000, async () => {
    const s = await session(nodeA.sftp, '127.0.0.21');
    if (s.ok) s.end();
    return s.ok;
  }), 'the slot freed on B is usable on A');

  // A ban made by A's CLI refuses the address on B at once (Redis pub/sub, not the 60 s poll).
  assert.equal(await refused(nodeB.sftp, '127.0.0.22'), false);
  assert.equal((await runCli(['ban', 'add', '127.0.0.22'], { cwd: a })).code, 0);
  assert.ok(await within(5_000, () => refused(nodeB.sftp, '127.0.0.22')), 'banned on B within seconds');

  // A brute force against A gets its address banned by A's defender, and refused on B.
  const guess = (port: number, from: string, i: number) =>
    new Promise<void>((resolve) => {
      const c = new ssh2.Client();
      c.on('error', () => resolve());
      c.on('close', () => resolve()); // refused (banned) connections only close
      c.on('ready', () => {
        c.end();
        resolve();
      });
      c.connect({ host: '127.0.0.1', port, localAddress: from, username: 'alice', password: `wrong-${i}`, readyTimeout: 15_000, tryKeyboard: false });
    });
  const guesser = '127.0.0.23';
  for (let i = 0; i < 20 && !(await refused(nodeA.sftp, guesser)); i++) await guess(nodeA.sftp, guesser, i);
  assert.equal(await refused(nodeA.sftp, guesser), true, 'the defender banned the guesser on A');
  assert.ok(await within(5_000, () => refused(nodeB.sftp, guesser)), 'and B refuses it too');

  // Spread over the two nodes (8 wrong passwords on each, threshold 15), the score is one.
  const spreader = '127.0.0.26';
  for (let i = 0; i < 8; i++) await guess(nodeA.sftp, spreader, i);
  for (let i = 0; i < 8; i++) await guess(nodeB.sftp, spreader, 8 + i);
  assert.ok(await within(5_000, async () => (await refused(nodeA.sftp, spreader)) && (await refused(nodeB.sftp, spreader))), 'banned on both once the shared score reached the threshold');
  assert.equal(await refused(nodeB.sftp, '127.0.0.24'), false, 'others still get in on B');

  // A session on B is listed and killed from A's CLI (the kill runs, and is audited, on B).
  const victim = await session(nodeB.sftp, '127.0.0.25');
  assert.ok(victim.ok, JSON.stringify(victim));
  const list = await runCli(['sessions', 'list', '--json'], { cwd: a });
  assert.equal(list.code, 0, list.stderr);
  const target = (JSON.parse(list.stdout) as { id: string; address: string; user: string | null }[]).find((x) => x.address === '127.0.0.25');
  assert.ok(target, `A lists B's session: ${list.stdout}`);
  assert.equal(target.user, 'alice');
  const kill = await runCli(['sessions', 'kill', target.id], { cwd: a });
  assert.equal(kill.code, 0, kill.stderr);
  assert.match(kill.stdout, /killed .* \(alice from 127\.0\.0\.25, sftp\)/);
  if (victim.ok) await Promise.race([victim.closed, sleep(5_000).then(() => assert.fail('the session on B was not ended'))]);
  const again = await runCli(['sessions', 'kill', target.id], { cwd: a });
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /no live session .* on any node/);

  // A one-time code used on A is refused when replayed from another address on B.
  assert.equal((await runCli(['user', 'add', 'bob', '--password-stdin', '--home', path.join(a, 'home-bob')], { cwd: a, stdin: `${PASSWORD}\n` })).code, 0);
  await mkdir(path.join(a, 'home-bob'), { recursive: true });
  const enrol = await runCli(['mfa', 'enroll', 'bob', '--json'], { cwd: a });
  const { secret } = JSON.parse(enrol.stdout) as { secret: string };
  assert.equal((await runCli(['mfa', 'confirm', 'bob', currentCode(secret)], { cwd: a })).code, 0);
  assert.equal((await runCli(['user', 'set', 'bob', '--mfa', 'required'], { cwd: a })).code, 0);
  // Not at the edge of a 30 s window: the replay must meet the same code still valid.
  while (30 - ((Date.now() / 1000) % 30) < 8) await sleep(500);
  const code = currentCode(secret);
  assert.equal(await loginWithCode(nodeA.sftp, '127.0.0.30', code), true, 'password + code on A');
  assert.equal(await loginWithCode(nodeB.sftp, '127.0.0.31', code), false, 'the same code from elsewhere on B: a replay');
  const replayed = await runCli(['audit', 'search', '--event', 'auth.mfa.replayed'], { cwd: b });
  assert.match(replayed.stdout, /127\.0\.0\.31/, `B recorded the replay: ${replayed.stdout}${replayed.stderr}`);
});

test('two nodes: the connection rate of an address is counted across them', { timeout: 120_000 }, async (t) => {
  // 1 per second with a burst of 3 per 10 s: one node alone would take 4 connections at once.
  const { nodeA, nodeB } = await twoNodes(t, ['rateLimits: { connectionsPerSecond: 1, connectionBurst: 3 }']);
  const from = '127.0.0.40';
  let refusedCount = 0;
  for (const port of [nodeA.sftp, nodeA.sftp, nodeA.sftp, nodeB.sftp, nodeB.sftp, nodeB.sftp]) if (await refused(port, from)) refusedCount++;
  assert.ok(refusedCount >= 2, `6 connections against a shared allowance of 4: ${refusedCount} refused`);
  assert.equal(await refused(nodeB.sftp, '127.0.0.41'), false, 'another address is not affected');
});
