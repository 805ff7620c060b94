// Issue 14.6: one ordinary user flooding the audit trail. Thousands of failing renames over
// SFTP (paramiko, two sessions on one connection) must leave a bounded number of records whose
// counts add up to every failure, and the chain must still verify.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRecord } from '../../src/audit/events.ts';
import { auditDir } from '../../src/audit/trail-files.ts';
import { verifyTrail } from '../../src/audit/verify.ts';
import { PASSWORD, requireBinary, run, startSftpFixture, USER } from '../sftp/helpers.ts';

const PYTHON = '/usr/bin/python3'; // Debian's interpreter, where python3-paramiko lives
const SAME = 1500; // per session: failing renames in one folder (identical failures)
const SPREAD = 750; // per session: failing renames, each in a folder of its own

const SCRIPT = `
import os, sys, paramiko, faulthandler
faulthandler.dump_traceback_later(300)
same, spread = int(sys.argv[1]), int(sys.argv[2])
t = paramiko.Transport(('127.0.0.1', int(os.environ['PORT'])))
t.connect(username=os.environ['USER_NAME'], password=os.environ['PASSWORD'])
sessions = [paramiko.SFTPClient.from_transport(t), paramiko.SFTPClient.from_transport(t)]
failed = 0
for i in range(same):
    for s in sessions:
        try:
            s.rename('/in/missing-%d' % i, '/in/other-%d' % i)
        except IOError:
            failed += 1
for i in range(spread):
    for k, s in enumerate(sessions):
        try:
            s.rename('/d%d-%d/missing' % (k, i), '/d%d-%d/other' % (k, i))
        except IOError:
            failed += 1
for s in sessions:
    s.close()
t.close()
print('failed', failed)
`;

type Counted = AuditRecord & { of?: string; count?: number; events?: Record<string, number>; scope?: string };

test('attack: thousands of failing renames over SFTP leave a bounded trail whose counts add up', async (t) => {
  await requireBinary('python3', 'python3-paramiko');
  const perSession = 200;
  const perUser = 300;
  const f = await startSftpFixture(t, { audit: { budget: { perSession, perUser } } });
  const env = { PORT: String(f.port), USER_NAME: USER, PASSWORD };
  const r = await run(PYTHON, ['-c', SCRIPT, String(SAME), String(SPREAD)], { env, timeoutMs: 600_000 });
  assert.equal(r.code, 0, `paramiko failed\n${r.stdout}\n${r.stderr}`);
  const attempts = 2 * (SAME + SPREAD);
  assert.equal(r.stdout.trim(), `failed ${attempts}`);

  const core = f.srv.server.core;
  // the sessions' summaries are written when they close; wait for both session.closed records
  for (let i = 0; i < 200; i++) {
    await core.trail!.flush();
    if ((await core.store.audit.search({ user: USER, eventPrefix: 'session.closed' })).length >= 2) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await core.trail!.flush();
  const records = (await core.store.audit.search({ user: USER, limit: 100_000 })) as Counted[];
  const full = records.filter((x) => x.event === 'file.rename.failed').length;
  const aggregated = records.filter((x) => x.event === 'audit.records.aggregated' && x.of === 'file.rename.failed').reduce((a, x) => a + x.count!, 0);
  const suppressed = records.filter((x) => x.event === 'audit.records.suppressed').reduce((a, x) => a + (x.events!['file.rename.failed'] ?? 0), 0);
  const summary = `${records.length} records: ${full} written in full, ${aggregated} aggregated, ${suppressed} suppressed`;
  t.diagnostic(summary);
  assert.equal(full + aggregated + suppressed, attempts, `every failure is accounted for (${summary})`);
  assert.ok(full <= perUser, `the user's budget bounds the full records (${summary})`);
  // full records + one aggregate per folder group + notices, logins and session ends
  assert.ok(records.length <= 2 * perUser + 20, `the trail is bounded (${summary})`);
  assert.ok(aggregated >= 2 * (SAME - 1), `repeats in one folder are aggregated (${summary})`);
  const notices = records.filter((x) => x.event === 'audit.budget.exceeded');
  assert.ok(notices.length >= 1 && notices.length <= 3, `the budget was announced, once per scope (${summary})`);
  const report = await verifyTrail({ dir: auditDir(f.srv.dataDir), repo: core.store.audit });
  assert.equal(report.ok, true, JSON.stringify([...(report.files?.problems ?? []), ...(report.store?.problems ?? [])]));
});
