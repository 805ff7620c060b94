// Issue 14.6: a full disk under the audit trail (a real 256 KiB tmpfs mounted on DATADIR/audit,
// the store elsewhere). Deliberate behaviour: the server does not crash; the batch that found no
// room is rolled back in the store and cut back in the file (no torn line, no fork); records
// wait in memory; new sessions are refused (ERR_AUDIT_UNAVAILABLE) with a log line and a
// critical alert; sessions already open go on; once there is room again everything waiting is
// written, `audit.storage.recovered` says what (if anything) was lost, and the chain verifies.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Client } from 'basic-ftp';
import type { AuditRecord } from '../../src/audit/events.ts';
import { auditDir } from '../../src/audit/trail-files.ts';
import { verifyTrail } from '../../src/audit/verify.ts';
import { LIMITS } from '../../src/config/limits.ts';
import { parseConfig } from '../../src/config/load.ts';
import { openStoreAndAudit } from '../../src/store/open-store.ts';
import { execFileAsync } from '../helpers/server.ts';
import { PASSWORD, sftpBatch, startSftpFixture, USER } from '../sftp/helpers.ts';
import { waitFor } from './helpers.ts';

test('attack: the disk under the audit trail fills up: new sessions refused, no crash, chain intact after', async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs: run it as root (CI does)');
  // Not makeTempDir: its clean-up would run before the server stops, onto a mounted tmpfs.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-diskfull-'));
  const dataDir = path.join(dir, 'data');
  const trailDir = auditDir(dataDir);
  await mkdir(trailDir, { recursive: true, mode: 0o700 });
  await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', trailDir]);
  const cleanUp = async () => {
    await execFileAsync('umount', ['-l', trailDir]);
    await rm(dir, { recursive: true, force: true });
  };
  let f: Awaited<ReturnType<typeof startSftpFixture>>;
  try {
    f = await startSftpFixture(t, { dataDir });
  } catch (err) {
    await cleanUp();
    throw err;
  }
  t.after(cleanUp); // runs after the server's own stop hook
  const core = f.srv.server.core;
  await core.trail!.flush();
  assert.equal((await sftpBatch(f, ['ls'])).code, 0, 'a session works before');

  // Fill the file system: the writer gets ENOSPC on its next append.
  const filler = path.join(trailDir, 'filler');
  await writeFile(filler, Buffer.alloc(1024 * 1024)).catch((err: NodeJS.ErrnoException) => assert.equal(err.code, 'ENOSPC'));
  const alerts: AuditRecord[] = [];
  core.trail!.onNotice((r) => alerts.push(r));
  // A login: its records find no room (its own session may start or be refused, by timing).
  await sftpBatch(f, ['ls']);
  await waitFor('the trail to notice the full disk', () => !core.trail!.accepting);

  const refused = await sftpBatch(f, ['ls']);
  assert.notEqual(refused.code, 0, 'a new session is refused while the trail cannot be written');
  assert.match(refused.stderr, /Refused: The audit trail cannot be written/);
  // FTPS too: the login is answered 421 (basic-ftp).
  const ftp = new Client(30_000);
  const ca = await readFile(path.join(f.srv.dataDir, 'tls', 'cert.pem'));
  await assert.rejects(ftp.access({ host: '127.0.0.1', port: f.srv.port('ftps (explicit)'), user: USER, password: PASSWORD, secure: true, secureOptions: { ca } }), (err: { code?: number }) => err.code === 421);
  ftp.close();
  assert.ok(alerts.some((r) => r.event === 'audit.storage.failed' && (r as { code?: string }).code === 'ENOSPC'), 'the alert rule saw audit.storage.failed');
  assert.ok(f.srv.server.listeners.length > 0, 'the server is still up');

  await rm(filler);
  await waitFor('the trail to write again', () => core.trail!.accepting, 20_000);
  assert.equal((await sftpBatch(f, ['ls'])).code, 0, 'sessions start again');
  await core.trail!.flush();

  const records = await core.store.audit.search({ limit: 100_000 });
  const names = records.map((r) => r.event);
  assert.ok(names.includes('audit.storage.failed'));
  const refusals = records.filter((r) => r.event === 'session.refused') as (AuditRecord & { code: string; user: string })[];
  assert.deepEqual(new Set(refusals.map((r) => `${r.protocol} ${r.code} ${r.user}`)), new Set([`sftp ERR_AUDIT_UNAVAILABLE ${USER}`, `ftps ERR_AUDIT_UNAVAILABLE ${USER}`]), 'the refusals themselves were kept and written');
  const recovered = records.find((r) => r.event === 'audit.storage.recovered') as AuditRecord & { lost: number };
  assert.equal(recovered.lost, 0, 'nothing was lost: the records waited in memory');
  assert.ok(names.indexOf('audit.storage.failed') < names.indexOf('audit.storage.recovered'));
  const report = await verifyTrail({ dir: trailDir, repo: core.store.audit });
  assert.equal(report.ok, true, JSON.stringify([...(report.files?.problems ?? []), ...(report.store?.problems ?? [])]));
  assert.ok(report.files!.last.seq >= report.head!.seq, 'the files hold the whole chain the store holds');
});

test('a long outage: records past the memory bound are counted, and the count is written once there is room', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-devfull-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const trailDir = path.join(dir, 'audit');
  await mkdir(trailDir, { recursive: true });
  await symlink('/dev/full', path.join(trailDir, 'audit.jsonl')); // every append: ENOSPC
  const base = await openStoreAndAudit(parseConfig({ dataDir: dir }));
  t.after(() => base.close());
  const extra = 250;
  const total = LIMITS.auditPendingMaxRecords + extra;
  const emit = (i: number) => base.audit.emit({ type: 'auth.failed', protocol: 'ftps', remoteAddress: '203.0.113.7', user: `u${i}`, method: 'password', code: 'ERR_AUTH_FAILED', reason: 'bad-credentials' });
  emit(-1);
  await waitFor('the trail to notice', () => !base.trail!.accepting);
  for (let i = 0; i < total; i++) emit(i);
  await rm(path.join(trailDir, 'audit.jsonl'));
  await waitFor('the trail to write again', () => base.trail!.accepting, 60_000);
  await base.trail!.flush();
  const written = await base.store.audit.search({ eventPrefix: 'auth.failed', limit: LIMITS.auditSearchMaxRows });
  const recovered = (await base.store.audit.search({ eventPrefix: 'audit.storage.recovered' }))[0] as AuditRecord & { lost: number; events: Record<string, number> };
  assert.equal(written.length + (recovered.events['auth.failed'] ?? 0), total + 1, 'written + counted = emitted');
  assert.ok(recovered.lost >= extra, `${recovered.lost} lost`);
  const report = await verifyTrail({ dir: trailDir, repo: base.store.audit });
  assert.equal(report.ok, true, JSON.stringify([...(report.files?.problems ?? []), ...(report.store?.problems ?? [])]));
});
