import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRecord } from '../audit/events.ts';
import { parseConfig } from '../config/load.ts';
import { AlertRules } from './rules.ts';

const download = (bytes: number): AuditRecord =>
  ({ ts: '', event: 'file.download.completed', type: 'file.operation', op: 'download', outcome: 'completed', path: '/f', bytes, sessionId: 's', user: 'alice', remoteAddress: '192.0.2.1', protocol: 'sftp' });

void test('download volume: the window slides (old downloads stop counting) and many small files stay cheap', () => {
  const config = parseConfig({ dataDir: '/nonexistent', alerts: { rules: { downloadVolume: { bytes: 10_000, windowMinutes: 1 } } } }).alerts.rules;
  let now = 0;
  const rules = new AlertRules(config, async () => false, () => now);
  const raised = (bytes: number) => rules.check(download(bytes)).filter((r) => r.rule === 'download-volume').length;
  assert.equal(raised(6_000), 0);
  now = 61_000; // the first download left the window
  assert.equal(raised(6_000), 0);
  now = 62_000;
  assert.equal(raised(4_000), 1); // 6,000 + 4,000 within the minute
  // 200,000 one-byte downloads within one window: linear, not quadratic.
  const t0 = performance.now();
  for (let i = 0; i < 200_000; i++) {
    now = 100_000 + i * 0.1;
    rules.check(download(1));
  }
  assert.ok(performance.now() - t0 < 5_000, 'adding to a long window must not walk it each time');
});
