import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerificationQueue } from './verification-queue.ts';

test('verifications run at most `concurrency` at once, and a clean address overtakes every suspect one waiting', async () => {
  const q = new VerificationQueue(2);
  const order: string[] = [];
  let live = 0;
  let peak = 0;
  // Each task holds its slot until the test lets it go: no timers, no timing.
  const gates: (() => void)[] = [];
  const job = (name: string, lane: 'clean' | 'suspect') =>
    q.run(lane, async () => {
      live++;
      peak = Math.max(peak, live);
      await new Promise<void>((r) => gates.push(r));
      order.push(name);
      live--;
    });
  const settle = () => new Promise((r) => setImmediate(r));
  const all = Array.from({ length: 10 }, (_, i) => job(`attacker-${i}`, 'suspect'));
  await settle();
  assert.deepEqual(q.queued, { clean: 0, suspect: 8 });
  all.push(job('owner', 'clean'));
  assert.deepEqual(q.queued, { clean: 1, suspect: 8 });
  // Let the tasks finish one at a time, as slots pass on.
  while (order.length < 11) {
    gates.shift()?.();
    await settle();
  }
  await Promise.all(all);
  assert.equal(peak, 2);
  // Two attackers were running already; the owner is next.
  assert.equal(order.indexOf('owner'), 2, order.join(' '));
  assert.deepEqual(q.queued, { clean: 0, suspect: 0 });
});

test('a failing verification frees its slot', async () => {
  const q = new VerificationQueue(1);
  await assert.rejects(q.run('clean', () => Promise.reject(new Error('boom'))));
  assert.equal(await q.run('suspect', () => Promise.resolve(7)), 7);
});
