// Each worker's slice of ftps.passivePorts: disjoint, together the whole range, in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { passiveSlice, workerSlot } from './slot.ts';

test('passive slices are disjoint and cover the range; one process keeps the whole range', () => {
  assert.deepEqual(passiveSlice(50000, 50100, null), [50000, 50100]);
  for (const count of [2, 3, 4, 7]) {
    const slices = Array.from({ length: count }, (_, index) => passiveSlice(50000, 50100, { index, count }));
    assert.equal(slices[0]![0], 50000);
    assert.equal(slices.at(-1)![1], 50100);
    for (let i = 1; i < count; i++) assert.equal(slices[i]![0], slices[i - 1]![1] + 1, 'no gap, no overlap');
    for (const [lo, hi] of slices) assert.ok(hi >= lo, 'every worker has a port');
  }
});

test('the worker slot comes from the environment the primary sets, and nothing else', () => {
  assert.deepEqual(workerSlot({ WORKER_SLOT: '1', WORKER_COUNT: '2' }), { index: 1, count: 2 });
  assert.equal(workerSlot({}), null);
  assert.equal(workerSlot({ WORKER_SLOT: '2', WORKER_COUNT: '2' }), null);
  assert.equal(workerSlot({ WORKER_SLOT: 'x', WORKER_COUNT: '2' }), null);
});
