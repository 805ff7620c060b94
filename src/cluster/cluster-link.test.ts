// The Redis link's safe direction (docs/cluster.md): with Redis gone, session caps still hold on
// this node, nothing that was allowed is refused, and when Redis answers again the link uses it
// without a restart. A private redis-server on its own port, stopped and started by the test.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../config/load.ts';
import { ClusterLink } from './cluster-link.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function redisServer(t: TestContext, port: number): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.after(() => p.kill('SIGKILL'));
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); r(true); }).on('error', () => r(false)));
    if (up) return p;
    await sleep(100);
  }
  throw new Error('redis-server did not start');
}

test('Redis away: the cap holds on this node; back: shared again, without a restart', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  let redis = await redisServer(t, port);
  const config = parseConfig({ redis: { url: `redis://127.0.0.1:${port}`, keyPrefix: 'link-test:' } });
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
  const one = await ClusterLink.connect(config, logger);
  const two = await ClusterLink.connect(config, logger);
  t.after(() => Promise.all([one.close(), two.close()]));

  // Shared: a slot taken through one link counts on the other.
  const s1 = await one.sessions.acquire('alice', 1);
  assert.ok(s1);
  assert.equal(await two.sessions.acquire('alice', 1), null);
  s1.release();
  await sleep(100);

  // Redis stops: each node falls back to its own count; the cap still holds locally.
  redis.kill('SIGKILL');
  await new Promise((r) => redis.once('exit', r));
  const local1 = await one.sessions.acquire('bob', 1);
  assert.ok(local1, 'allowed sessions are not refused while Redis is away');
  assert.equal(await one.sessions.acquire('bob', 1), null, 'the cap still holds on this node');
  assert.ok(lines.some((l) => l.includes('redis unreachable')), 'the fallback is logged');
  local1.release();

  // Redis is back: shared counting again, without a restart.
  redis = await redisServer(t, port);
  let shared = false;
  for (let i = 0; i < 50 && !shared; i++) {
    await sleep(200);
    const s = await one.sessions.acquire('carol', 1);
    if (s && (await two.sessions.acquire('carol', 1)) === null) shared = true;
    s?.release();
  }
  assert.equal(shared, true, 'caps are shared again once Redis answers');
  assert.ok(lines.some((l) => l.includes('redis answers again')));
});
