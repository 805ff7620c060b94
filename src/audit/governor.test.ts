import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRecord } from './events.ts';
import { AuditGovernor, pathPattern } from './governor.ts';

const failedRename = (i: number, sessionId = 's1', dir = '/in'): AuditRecord =>
  ({ ts: new Date(i).toISOString(), event: 'file.rename.failed', type: 'file.operation', op: 'rename', outcome: 'failed', path: `${dir}/a${i}`, target: `${dir}/b${i}`, code: 'ERR_VFS_NOT_FOUND', sessionId, user: 'mallory', connectionId: 'c1', protocol: 'sftp', remoteAddress: '127.0.0.1' });

/** Every emitted event accounted for: full records + aggregated counts + suppressed counts. */
function accounted(written: AuditRecord[], event: string): number {
  let n = 0;
  for (const r of written) {
    const x = r as AuditRecord & { of?: string; count?: number; events?: Record<string, number> };
    if (r.event === event) n++;
    if (r.event === 'audit.records.aggregated' && x.of === event) n += x.count!;
    if (r.event === 'audit.records.suppressed') n += x.events![event] ?? 0;
  }
  return n;
}

test('path patterns: the folder and *', () => {
  assert.equal(pathPattern('/in/a1.csv'), '/in/*');
  assert.equal(pathPattern('/a'), '/*');
  assert.equal(pathPattern(undefined), undefined);
});

test('identical failures: one full record, then one count per interval', () => {
  let now = 0;
  const g = new AuditGovernor({ perSession: 0, perUser: 0, windowMs: 3_600_000, aggregateMs: 60_000, now: () => now });
  const out: AuditRecord[] = [];
  for (let i = 0; i < 5000; i++) {
    now = i * 30; // 150 s in all: three intervals
    out.push(...g.admit(failedRename(i)));
  }
  out.push(...g.due(true));
  assert.equal(out.filter((r) => r.event === 'file.rename.failed').length, 3);
  assert.equal(out.filter((r) => r.event === 'audit.records.aggregated').length, 3);
  assert.equal(accounted(out, 'file.rename.failed'), 5000);
  const agg = out.find((r) => r.event === 'audit.records.aggregated') as AuditRecord & Record<string, unknown>;
  assert.deepEqual([agg.of, agg.pattern, agg.targetPattern, agg.code, agg.sessionId, agg.user], ['file.rename.failed', '/in/*', '/in/*', 'ERR_VFS_NOT_FOUND', 's1', 'mallory']);
});

function flood(perSession: number, perUser: number): AuditRecord[] {
  let now = 0;
  const g = new AuditGovernor({ perSession, perUser, windowMs: 3_600_000, aggregateMs: 60_000, now: () => now });
  const out: AuditRecord[] = [];
  for (let i = 0; i < 3000; i++) {
    now = i;
    // every failure in its own folder: nothing aggregates, only the budgets bound the trail
    out.push(...g.admit(failedRename(i, `s${i % 3}`, `/d${i}`)));
  }
  out.push(...g.admit({ ts: new Date(now).toISOString(), event: 'session.closed', type: 'session.closed', sessionId: 's0', durationMs: 1, user: 'mallory' }));
  out.push(...g.due(true));
  assert.equal(accounted(out, 'file.rename.failed'), 3000, 'the counts add up');
  return out;
}

test('sessions past their budget: one notice each, then counts, never silence', () => {
  const out = flood(50, 1000);
  assert.equal(out.filter((r) => r.event === 'file.rename.failed').length, 150);
  assert.equal(out.filter((r) => r.event === 'audit.budget.exceeded').length, 3);
  assert.ok(out.length < 170, `${out.length} records`);
  // the session's summary comes before its session.closed record
  const closedAt = out.findIndex((r) => r.event === 'session.closed');
  assert.ok(out.slice(0, closedAt).some((r) => r.event === 'audit.records.suppressed' && (r as { sessionId?: string }).sessionId === 's0'));
});

test('a user past their budget over several sessions', () => {
  const out = flood(1000, 250);
  assert.equal(out.filter((r) => r.event === 'file.rename.failed').length, 250, 'the user budget bounds the three sessions together');
  assert.equal(out.filter((r) => r.event === 'audit.budget.exceeded').length, 1);
  const s = out.filter((r) => r.event === 'audit.records.suppressed') as (AuditRecord & { scope: string; count: number })[];
  assert.deepEqual(s.map((r) => [r.scope, r.user, r.count]), [['user', 'mallory', 2750]]);
});

test('logins, refusals and successes are never aggregated', () => {
  const g = new AuditGovernor({ perSession: 1, perUser: 1, windowMs: 3_600_000, aggregateMs: 60_000 });
  for (let i = 0; i < 10; i++) {
    assert.equal(g.admit({ ts: 'x', event: 'auth.failed', type: 'auth.failed', method: 'password', code: 'ERR_AUTH_FAILED', reason: 'bad-credentials', user: 'mallory', connectionId: 'c1' }).length, 1);
  }
});
