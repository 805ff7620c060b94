import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { Admission } from './admission.ts';
import { normaliseAddress } from './connection.ts';
import { listen } from './listener.ts';

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
  const admission = new Admission({ maxConnections: 3, maxConnectionsPerAddress: 2 }, audit);
  const l = await listen({ protocol: 'ftps', address: '127.0.0.1', port: 0, admission, onConnection: (s) => s.write('220 hello\r\n') });
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
  const admission = new Admission({ maxConnections: 10, maxConnectionsPerAddress: 10 }, audit);
  admission.addRule(({ address }) => (address === '127.0.0.5' ? { code: 'ERR_ADMISSION_DENIED', rule: 'test.deny' } : null));
  let handled = 0;
  const l = await listen({ protocol: 'sftp', address: '127.0.0.1', port: 0, admission, onConnection: () => handled++ });
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
