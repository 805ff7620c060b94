// The primary's hub with two workers (fake IPC ends): the node's connection caps and the
// pre-authentication gate counted once for both, an eviction sent to the worker holding the
// connection, a dead worker's connections given back, the logins of one worker reaching the
// other's failure throttle, and the trail's "no room" reaching every worker.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';
import { test } from 'node:test';
import { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { parseConfig } from '../config/load.ts';
import { LocalTally } from '../net/connection-tally.ts';
import { UserFailureThrottle } from '../policy/user-failure-throttle.ts';
import { WorkerHub } from './hub.ts';
import { CHANNEL } from './messages.ts';
import { WorkerLink } from './worker-link.ts';

type Sent = { kind: string; rid?: number; ok?: boolean; value?: unknown; id?: string; reason?: string; accepting?: boolean; records?: AuditRecord[] };

function fakeWorker(id: number): Worker & { sent: Sent[] } {
  const w = new EventEmitter() as unknown as Worker & { sent: Sent[] };
  Object.assign(w, { id, sent: [] as Sent[], isConnected: () => true, send: (m: Sent, _h: unknown, cb?: () => void) => (w.sent.push(m), cb?.(), true) });
  return w;
}

const LIMITS = { maxConnections: 10, maxConnectionsPerAddress: 2, maxUnauthenticated: 3, maxUnauthenticatedPerAddress: 2, unauthenticatedDropFrom: 3, loginTimeoutMs: 60_000 };
const tick = () => new Promise((r) => setImmediate(r));
let rid = 1;
async function enter(w: Worker & { sent: Sent[] }, id: string, key: string): Promise<{ admit: boolean; code?: string }> {
  const r = rid++;
  w.emit('message', { ch: CHANNEL, kind: 'request', op: 'conn.enter', rid: r, id, key, address: key });
  await tick();
  const reply = w.sent.find((m) => m.kind === 'reply' && m.rid === r);
  assert.ok(reply?.ok, JSON.stringify(reply));
  return reply.value as { admit: boolean; code?: string };
}
const notice = (w: Worker, m: object) => w.emit('message', { ch: CHANNEL, ...m });

test('the node counts connections once for every worker: caps, a leave, a dead worker gives its connections back', async () => {
  const hub = new WorkerHub(new Audit(), null, new LocalTally(LIMITS, () => 0.99));
  const [w1, w2] = [fakeWorker(1), fakeWorker(2)];
  hub.attach(w1);
  hub.attach(w2);
  assert.equal((await enter(w1, 'a', 'K')).admit, true);
  notice(w1, { kind: 'conn.authenticated', id: 'a' });
  assert.equal((await enter(w2, 'b', 'K')).admit, true);
  // The address holds two connections on the node: a third, on either worker, is refused.
  assert.deepEqual(await enter(w1, 'c', 'K'), { admit: false, code: 'ERR_ADMISSION_TOO_MANY_FROM_ADDRESS', rule: 'limits.maxConnectionsPerAddress' });
  // A worker cannot give back another worker's connection.
  notice(w1, { kind: 'conn.leave', id: 'b' });
  assert.equal((await enter(w1, 'c', 'K')).admit, false);
  notice(w2, { kind: 'conn.leave', id: 'b' });
  assert.equal((await enter(w1, 'c', 'K')).admit, true);
  hub.detach(1);
  assert.equal(hub.tally.total, 0, 'a dead worker holds nothing');
  assert.equal((await enter(w2, 'd', 'K')).admit, true);
  await hub.close();
});

test('the pre-authentication gate at its cap evicts the heaviest address\'s oldest connection on the worker that holds it', async () => {
  const hub = new WorkerHub(new Audit(), null, new LocalTally({ ...LIMITS, maxConnectionsPerAddress: 10 }, () => 0.99));
  const [w1, w2] = [fakeWorker(1), fakeWorker(2)];
  hub.attach(w1);
  hub.attach(w2);
  assert.equal((await enter(w1, 'a1', 'A')).admit, true);
  assert.equal((await enter(w2, 'a2', 'A')).admit, true);
  assert.equal((await enter(w2, 'c1', 'C')).admit, true);
  // Full (3 waiting): a newcomer from B takes the place of A's oldest, which worker 1 holds.
  assert.equal((await enter(w2, 'b1', 'B')).admit, true);
  const evicted = w1.sent.find((m) => m.kind === 'conn.evict');
  assert.equal(evicted?.id, 'a1');
  assert.match(evicted.reason!, /limits\.maxUnauthenticated \(3\)/);
  assert.equal(w2.sent.some((m) => m.kind === 'conn.evict'), false);
  await hub.close();
});

test('a wrong password on one worker counts in the other worker\'s failure throttle', async () => {
  const audit = new Audit();
  const hub = new WorkerHub(audit, null, new LocalTally(LIMITS));
  const [w1, w2] = [fakeWorker(1), fakeWorker(2)];
  hub.attach(w1);
  hub.attach(w2);
  // Worker 2's end: its link and its own throttle, fed by what the primary relays.
  const config = parseConfig({ rateLimits: { userFailuresBeforeDelay: 3 } });
  const throttle = new UserFailureThrottle(config.rateLimits, new Audit());
  const link = new WorkerLink(2, () => undefined);
  link.onOthersLogins((r) => throttle.observe(r));
  // Six failures made on worker 1 (its records reach the primary's bus with its id).
  for (let i = 0; i < 6; i++) audit.channel.publish({ ts: new Date().toISOString(), event: 'auth.failed', type: 'auth.failed', user: 'alice', remoteAddress: '192.0.2.7', protocol: 'sftp', reason: 'bad-credentials', method: 'password', worker: 1 });
  await tick();
  assert.equal(w1.sent.some((m) => m.kind === 'auth.seen'), false, 'not sent back to where they were made');
  const seen = w2.sent.filter((m) => m.kind === 'auth.seen');
  assert.equal(seen.flatMap((m) => m.records!).length, 6);
  for (const m of seen) process.emit('message', { ch: CHANNEL, ...m }, undefined);
  assert.ok(throttle.delayFor('alice', '192.0.2.7') > 0, 'worker 2 slows the next guess');
  throttle.close();
  await link.close();
  await hub.close();
});

test('the primary\'s trail out of room: every worker is told, and a worker starting meanwhile too', async () => {
  let accepting = true;
  let onNotice: (r: AuditRecord) => void = () => undefined;
  const trail = { get accepting() { return accepting; }, onNotice: (fn: (r: AuditRecord) => void) => ((onNotice = fn), () => undefined) };
  const hub = new WorkerHub(new Audit(), null, new LocalTally(LIMITS), trail);
  const w1 = fakeWorker(1);
  hub.attach(w1);
  accepting = false;
  onNotice({ ts: '', event: 'audit.storage.failed', type: 'audit.storage.failed', code: 'ENOSPC', detail: 'no room' });
  assert.deepEqual(w1.sent.filter((m) => m.kind === 'audit.accepting').map((m) => m.accepting), [false]);
  const w2 = fakeWorker(2);
  hub.attach(w2);
  notice(w2, { kind: 'ready', listeners: [] });
  assert.deepEqual(w2.sent.filter((m) => m.kind === 'audit.accepting').map((m) => m.accepting), [false]);
  accepting = true;
  onNotice({ ts: '', event: 'audit.storage.recovered', type: 'audit.storage.recovered', since: '', lost: 0, events: {} });
  assert.deepEqual(w1.sent.filter((m) => m.kind === 'audit.accepting').map((m) => m.accepting), [false, true]);
  await hub.close();
});

test('a ban from one worker is sent to the others before that worker hears back', async () => {
  const order: string[] = [];
  const hub = new WorkerHub(new Audit(), null, new LocalTally(LIMITS));
  const [w1, w2] = [fakeWorker(1), fakeWorker(2)];
  for (const w of [w1, w2]) {
    const sent = w.sent;
    Object.assign(w, { send: (m: Sent, _h: unknown, cb?: () => void) => (order.push(`${w.id}:${m.kind}`), sent.push(m), cb?.(), true) });
    hub.attach(w);
  }
  const inPrimary: string[] = [];
  hub.bans.onAnnounced((b) => inPrimary.push(b.address));
  const ban = { id: 0, address: '203.0.113.9', reason: 'test', source: 'defender' as const, createdAt: '', expiresAt: '' };
  w1.emit('message', { ch: CHANNEL, kind: 'request', op: 'ban.announce', rid: 99, ban });
  await tick();
  assert.deepEqual(order, ['2:ban', '1:reply']);
  assert.deepEqual(inPrimary, ['203.0.113.9']);
  await hub.close();
});
