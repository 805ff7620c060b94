import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from './load.ts';
import { applyLive, changedKeys, LIVE_KEYS, planReload } from './reload.ts';

test('a reload plan splits changed keys into live ones and ones that need a restart; live ones are written in place', () => {
  const current = parseConfig({});
  const next = parseConfig({ defender: { threshold: 9, scores: { unknownUser: 5 } }, access: { deny: ['192.0.2.0/24'] }, sftp: { port: 2022 }, rateLimits: { connectionsPerSecond: 3 } });
  const plan = planReload(current, next);
  assert.deepEqual(plan.live, ['access.deny', 'defender.scores.unknownUser', 'defender.threshold']);
  assert.deepEqual(plan.restart, ['rateLimits.connectionsPerSecond', 'sftp.port']);
  const defender = current.defender; // components hold these objects
  applyLive(current, next, plan.live);
  assert.equal(defender.threshold, 9);
  assert.equal(defender.scores.unknownUser, 5);
  assert.deepEqual(current.access.deny, ['192.0.2.0/24']);
  assert.equal(current.sftp.port, parseConfig({}).sftp.port, 'restart keys are left alone');
  assert.deepEqual(changedKeys(current, current), []);
  // Every live key names a key of the configuration.
  const leaves = (o: unknown, prefix = ''): string[] =>
    typeof o === 'object' && o !== null && !Array.isArray(o) ? Object.entries(o).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k)) : [prefix];
  const all = leaves(parseConfig({}));
  for (const k of LIVE_KEYS) assert.ok(all.some((a) => (k.endsWith('.') ? a.startsWith(k) : a === k)), k);
});
