import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { PassivePorts } from './data-channel.ts';

void test('passive listeners are capped per user and per address; a listener counts until it stops listening, not until its transfer ends', async (t) => {
  const ports = new PassivePorts(50040, 50069, { perUser: 2, perAddress: 3 });
  const open: net.Server[] = [];
  const accepted: net.Socket[] = [];
  t.after(() => {
    for (const s of open) s.close();
    for (const s of accepted) s.destroy();
  });
  const listen = async (user: string, address: string): Promise<net.Server> => {
    const s = await ports.listen('127.0.0.1', { user, address }, (sock) => {
      accepted.push(sock);
      s.close(); // as the connection does on accept
    });
    open.push(s);
    return s;
  };
  const a1 = await listen('alice', '10.0.0.1');
  await listen('alice', '10.0.0.1');
  assert.equal(ports.check({ user: 'alice', address: '10.0.0.2' }), 'user');
  await assert.rejects(listen('alice', '10.0.0.2'), /Too many/);
  await listen('bob', '10.0.0.1');
  assert.equal(ports.check({ user: 'carol', address: '10.0.0.1' }), 'address');
  // A listener that accepts its connection stops counting at once, while the connection lives.
  const client = net.connect({ host: '127.0.0.1', port: (a1.address() as net.AddressInfo).port });
  t.after(() => client.destroy());
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(accepted.length, 1);
  assert.equal(ports.check({ user: 'alice', address: '10.0.0.9' }), null, 'alice is below her cap again');
  assert.equal(ports.check({ user: 'carol', address: '10.0.0.1' }), null, 'and so is the address');
});
