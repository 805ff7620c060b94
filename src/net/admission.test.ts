import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { Admission } from './admission.ts';
import { normaliseAddress } from './connection.ts';
import { listen } from './listener.ts';
import { PreAuthGate } from './pre-auth.ts';

/** Pre-authentication limits that these tests do not reach. */
const WAITING = { maxUnauthenticated: 100, maxUnauthenticatedPerAddress: 100, unauthenticatedDropFrom: 100, loginTimeoutMs: 60_000 };

function connect(port: number, localAddress = '127.0.0.1'): Promise<{ socket: net.Socket; closed: Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<Buffer>((r) => socket.on('close', () => r(Buffer.concat(chunks))));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

test('caps per address and in total are enforced at accept, before any byte', async (t) => {
  const audit = new Audit();
  const events: AuditRecord[] = [];
  audit.subscribe((r) => events.push(r));
  const admission = new Admission({ ...WAITING, maxConnections: 3, maxConnectionsPerAddress: 2 }, audit);
  const l = await listen({ name: 'test', protocol: 'ftps', address: '127.0.0.1', port: 0, admission, onConnection: (s) => s.write('220 hello\r\n') });
  t.after(() => l.close());

  const a1 = await connect(l.port);
  const a2 = await connect(l.port);
  const a3 = await connect(l.port); // third from 127.0.0.1: refused
  assert.equal((await a3.closed).length, 0, 'a refused socket gets no banner');
  const b1 = await connect(l.port, '127.0.0.2');
  const c1 = await connect(l.port, '127.0.0.3'); // fourth in total: refused
  assert.equal((await c1.closed).length, 0);
  const refused = events.filter((e) => e.event === 'conn.refused').map((e) => ('rule' in e ? e.rule : ''));
  assert.deepEqual(refused, ['limits.maxConnectionsPerAddress', 'limits.maxConnections']);
  assert.equal(admission.connectionCount, 3);

  // Closing frees the slot.
  a1.socket.destroy();
  await a1.closed;
  await new Promise((r) => setTimeout(r, 20));
  const a4 = await connect(l.port);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(admission.connectionCount, 3);
  for (const c of [a2, b1, a4]) c.socket.destroy();
  await Promise.all([a2.closed, b1.closed, a4.closed]);
});

test('a policy rule refuses before the caps, naming itself', async (t) => {
  const audit = new Audit();
  const events: AuditRecord[] = [];
  audit.subscribe((r) => events.push(r));
  const admission = new Admission({ ...WAITING, maxConnections: 10, maxConnectionsPerAddress: 10 }, audit);
  admission.addRule(({ address }) => (address === '127.0.0.5' ? { code: 'ERR_ADMISSION_DENIED', rule: 'test.deny' } : null));
  let handled = 0;
  const l = await listen({ name: 'test', protocol: 'sftp', address: '127.0.0.1', port: 0, admission, onConnection: () => handled++ });
  t.after(() => l.close());
  const c = await connect(l.port, '127.0.0.5');
  assert.equal((await c.closed).length, 0);
  assert.equal(handled, 0, 'the adapter never saw the socket');
  const ev = events.find((e) => e.event === 'conn.refused');
  assert.ok(ev && 'rule' in ev && ev.rule === 'test.deny' && ev.remoteAddress === '127.0.0.5');
});

test('IPv4-mapped IPv6 addresses are normalised', () => {
  assert.equal(normaliseAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normaliseAddress('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(normaliseAddress('::1'), '::1');
  assert.equal(normaliseAddress('2001:DB8::1'), '2001:db8::1');
});

test('the pre-authentication gate: per-address cap, early random drop only for addresses already waiting, fair eviction at the cap (14.2)', () => {
  let dice = 0.99; // the best dice first
  const gate = new PreAuthGate({ maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 6, unauthenticatedDropFrom: 5, loginTimeoutMs: 60_000 }, () => dice);
  const enter = (id: string, key: string) => {
    const d = gate.check(key);
    if (d.admit) {
      if (d.evict) gate.leave(d.evict);
      gate.enter(id, key);
    }
    return d;
  };
  for (let i = 0; i < 6; i++) assert.equal(enter(`a${i}`, 'A').admit, true);
  const perKey = enter('a6', 'A');
  assert.equal(perKey.admit, false);
  assert.equal(!perKey.admit && perKey.code, 'ERR_ADMISSION_TOO_MANY_UNAUTHENTICATED');
  // 6 waiting (>= 5): B's first connection is never dropped at random, its second may be.
  dice = 0; // the worst dice
  assert.equal(enter('b0', 'B').admit, true);
  const second = enter('b1', 'B');
  assert.equal(!second.admit && second.code, 'ERR_ADMISSION_PREAUTH_BUSY');
  dice = 0.99;
  assert.equal(enter('b1', 'B').admit, true, 'the dice decide below the cap');
  for (const k of ['C', 'D']) assert.equal(enter(`${k}0`, k).admit, true);
  assert.equal(gate.count, 10);
  // At the cap: a newcomer takes the place of the oldest connection of the heaviest address (A).
  const fair = enter('e0', 'E');
  assert.ok(fair.admit && fair.evict === 'a0', JSON.stringify(fair));
  assert.equal(gate.countOf('A'), 5);
  // An address holding as many as the heaviest would cannot evict: refused.
  for (let i = 0; i < 4; i++) gate.leave(`a${i + 1}`);
  const full = new PreAuthGate({ maxUnauthenticated: 2, maxUnauthenticatedPerAddress: 2, unauthenticatedDropFrom: 2, loginTimeoutMs: 60_000 }, () => 0.99);
  full.enter('x', 'X');
  full.enter('y', 'Y');
  const refused = full.check('Z');
  assert.equal(!refused.admit && refused.code, 'ERR_ADMISSION_PREAUTH_BUSY');
  for (const id of ['x', 'y']) full.leave(id);
  for (const id of gate['waiting'].keys()) gate.leave(id);
});

test('a silent socket is closed at the login deadline counted from accept, and audited with the setting', async (t) => {
  const audit = new Audit();
  const events: AuditRecord[] = [];
  audit.subscribe((r) => events.push(r));
  const admission = new Admission({ ...WAITING, loginTimeoutMs: 300, maxConnections: 10, maxConnectionsPerAddress: 10 }, audit);
  t.after(() => admission.close());
  // The adapter never starts its own timer (as ssh2 before a full identification line).
  const l = await listen({ name: 'test', protocol: 'sftp', address: '127.0.0.1', port: 0, admission, onConnection: () => undefined });
  t.after(() => l.close());
  const c = await connect(l.port);
  assert.equal(admission.unauthenticatedCount, 1);
  await c.closed;
  const dropped = events.find((e) => e.event === 'conn.dropped');
  assert.ok(dropped && dropped.type === 'conn.dropped' && dropped.code === 'ERR_SESSION_LOGIN_TIMEOUT' && /limits\.loginTimeoutMs/.test(dropped.reason), JSON.stringify(dropped));
  assert.equal(admission.unauthenticatedCount, 0);
});
