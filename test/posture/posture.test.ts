// `portcullis posture` against the real server started by `portcullis serve`: a default install
// scores full marks with nothing above info to fix (the one exception is the machine's own
// runtime, reported when its Node.js line is past end of life); a weakened one is found layer by
// layer; the self-scan bans nobody; password-only logins on a default install are refused.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { controlRequest } from '../../src/control/control-client.ts';
import { loadLifecycle } from '../../src/posture/lifecycle.ts';
import type { PostureReport } from '../../src/posture/posture.ts';
import { Store } from '../../src/store/store.ts';
import { runCli, startServe } from '../helpers/cli.ts';
import { makeTempDir, startTestServer } from '../helpers/server.ts';

// Only the listening addresses differ from the built-in defaults (port 0: tests run side by side).
const DEFAULT_INSTALL = `
dataDir: ./data
sftp: { address: 127.0.0.1, port: 0 }
ftps: { address: 127.0.0.1, port: 0, implicitPort: 0 }
metrics: { address: 127.0.0.1, port: 0 }
`;

async function serve(t: import('node:test').TestContext, yaml: string) {
  const dir = await makeTempDir(t, 'portcullis-posture-');
  await writeFile(path.join(dir, 'portcullis.yaml'), yaml);
  const server = await startServe([], { cwd: dir });
  t.after(async () => {
    await server.stop();
  });
  const port = (name: string) => Number(new RegExp(`${name.replace(/[()]/g, '\\$&')} listening on 127\\.0\\.0\\.1:(\\d+)`).exec(server.lines.join('\n'))![1]);
  return { dir, port };
}

async function posture(dir: string, ...args: string[]): Promise<{ report: PostureReport; code: number | null; stderr: string }> {
  const r = await runCli(['posture', '--format', 'json', ...args], { cwd: dir });
  assert.ok(r.stdout.startsWith('{'), `posture printed JSON:\n${r.stdout}\n${r.stderr}`);
  return { report: JSON.parse(r.stdout) as PostureReport, code: r.code, stderr: r.stderr };
}

/** The runtime finding this machine deserves: its Node.js line past end of life, or none. */
function runtimeIsEndOfLife(): boolean {
  const line = loadLifecycle().node[process.versions.node.split('.')[0]!];
  return line !== undefined && Date.parse(line.eol) <= Date.now();
}

test('a default install scores full marks with no finding above info, and refuses password-only logins', async (t) => {
  const { dir, port } = await serve(t, DEFAULT_INSTALL);
  const add = await runCli(['user', 'add', 'alice', '--password-stdin'], { cwd: dir, stdin: 'a long passphrase here\n' });
  assert.equal(add.code, 0, add.stderr);

  const { report, code } = await posture(dir, '--fail-on', 'low');
  const aboveInfo = report.results.filter((r) => r.status === 'fail' && r.severity !== 'info');
  const eol = runtimeIsEndOfLife();
  if (eol) t.diagnostic(`this machine runs Node.js ${process.version}, past end of life: posture rightly reports posture.runtime`);
  assert.deepEqual(
    aboveInfo.map((r) => `${r.id} ${r.severity} ${r.evidence.join('; ')}`),
    eol ? [aboveInfo.find((r) => r.id === 'posture.runtime') ? `posture.runtime medium ${aboveInfo[0]!.evidence.join('; ')}` : 'posture.runtime missing'] : [],
  );
  assert.equal(code, eol ? 1 : 0, '--fail-on low exits 1 only for the runtime');
  for (const layer of report.layers) {
    assert.equal(layer.score, layer.layer === 'patching' && eol ? 75 : 100, `${layer.layer}: ${JSON.stringify(layer)}`);
  }
  // Every listener was scanned, and the black-box password finding is settled by the config.
  assert.deepEqual(report.listeners.map((l) => l.url.split(':')[0]).sort(), ['ftp', 'ftps', 'sftp']);
  assert.equal(report.scan.targets.every((t) => t.reachable), true);
  const settled = report.results.find((r) => r.id === 'ssh.password-auth')!;
  assert.equal(settled.status, 'pass');
  assert.equal(settled.settledBy, 'mfa.required');
  // The user who has not enrolled yet is a note that names her.
  const note = report.results.find((r) => r.id === 'posture.mfa-not-enrolled')!;
  assert.equal(note.status, 'fail');
  assert.equal(note.severity, 'info');
  assert.match(note.evidence[0]!, /alice/);
  // No secret reaches the report.
  assert.doesNotMatch(JSON.stringify(report), /a long passphrase/);

  // The text report says the same, in words.
  const text = await runCli(['posture'], { cwd: dir });
  assert.match(text.stdout, /Multi-factor authentication\s+100\/100/);
  assert.match(text.stdout, eol ? /What to change \(1\)[\s\S]*posture\.runtime/ : /Nothing to fix: no finding above info/);

  // Posture ran twice and probed unknown users each time, yet 127.0.0.1 is not banned.
  const bans = await runCli(['ban', 'list'], { cwd: dir });
  assert.doesNotMatch(bans.stdout, /127\.0\.0\.1/);
  const trail = await readFile(path.join(dir, 'data', 'audit', 'audit.jsonl'), 'utf8');
  assert.match(trail, /"type":"posture\.selfscan"/);

  // MFA is on by default: the right password alone does not log in, and the reply says what to do.
  const curl = await promisify(execFile)('curl', ['-sS', '-v', '--ssl-reqd', '-k', '-u', 'alice:a long passphrase here', `ftp://127.0.0.1:${port('ftps (explicit)')}/`]).catch((e: { code: number; stderr: string }) => e);
  assert.equal((curl as { code: number }).code, 67, 'curl: login denied');
  assert.match((curl as { stderr: string }).stderr, /portcullis mfa enroll alice/);
});

test('a weakened server is found layer by layer, with what to change', async (t) => {
  const { dir } = await serve(
    t,
    `${DEFAULT_INSTALL}
ftps: { address: 127.0.0.1, port: 0, implicitPort: 0, allowPlaintext: true, dataTlsSessionReuse: optional }
sftp: { address: 127.0.0.1, port: 0, legacyAlgorithms: [hmac-sha2-256] }
mfa: { required: false }
defender: { enabled: false }
rateLimits: { connectionsPerSecond: 0 }
audit: { file: false }
`.replace(/^(sftp|ftps): \{ address: 127\.0\.0\.1, port: 0(, implicitPort: 0)? \}\n/gm, ''),
  );
  await runCli(['user', 'add', 'bob', '--password-stdin'], { cwd: dir, stdin: 'another long passphrase\n' });
  // History: a previous posture run that scored full marks, and a scheduled scan of a partner.
  const store = await Store.open({ driver: 'sqlite', url: path.join(dir, 'data', 'portcullis.db') });
  t.after(() => store.close());
  const partner = { target: { url: 'ftp://192.0.2.10:21', scheme: 'ftp' as const, host: '192.0.2.10', port: 21 }, startedAt: '2026-12-04T03:47:00.000Z', durationMs: 1, reachable: true, results: [] };
  const scanRun = await store.scans.addRun({ kind: 'scan', trigger: 'schedule', node: 'n1', startedAt: partner.startedAt, finishedAt: partner.startedAt, summary: {}, results: [{ report: partner, failures: [{ id: 'ftp.cleartext-only', severity: 'high', title: 'cleartext' }] }] });
  const full = Object.fromEntries(['secure-protocol', 'encryption', 'mfa', 'access-restriction', 'monitoring', 'patching'].map((l) => [l, 100]));
  const before = await store.scans.addRun({ kind: 'posture', trigger: 'cli', node: 'n1', startedAt: partner.startedAt, finishedAt: partner.startedAt, score: 100, summary: { layers: full, overall: 100 }, results: [] });
  const { report, code } = await posture(dir, '--fail-on', 'high');
  // Stored, compared with the previous run, and the partner's last scheduled scan is shown.
  assert.ok(report.history && report.history.runId > before);
  assert.deepEqual(report.history.previous, { runId: before, score: 100 });
  assert.deepEqual(report.history.lastScans.map((l) => [l.target, l.runId, l.findings.high]), [['ftp://192.0.2.10:21', scanRun, 1]]);
  const stored = (await store.scans.run(report.history.runId))!;
  assert.equal(stored.kind, 'posture');
  assert.equal(stored.score, report.overall);
  assert.equal(stored.results.length, report.scan.targets.length);
  const dropped = await store.db.selectFrom('audit_events').select('record').where('event', '=', 'posture.score.dropped').execute();
  assert.equal(dropped.length, 1);
  assert.match(dropped[0]!.record, /"previous":100/);
  // The running server follows the chain and alerts on the drop.
  let alert: unknown;
  for (let i = 0; i < 50 && !alert; i++) {
    alert = await store.db.selectFrom('audit_events').select('record').where('event', '=', 'alert.raised').where('record', 'like', '%posture-score-dropped%').executeTakeFirst();
    if (!alert) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(alert, 'alert posture-score-dropped raised by the server');
  assert.equal(code, 1, 'a high finding fails --fail-on high');
  const failed = new Map(report.results.filter((r) => r.status === 'fail').map((r) => [r.id, r]));
  for (const [id, severity] of [
    ['posture.plaintext-ftp', 'high'],
    ['posture.ftps-data-session-reuse', 'medium'],
    ['posture.ssh-legacy-algorithms', 'low'],
    ['posture.mfa-not-required', 'medium'],
    ['posture.defender-off', 'medium'],
    ['posture.connection-rate-off', 'low'],
    ['posture.audit-off', 'low'],
    ['ssh.password-auth', 'medium'],
    ['ftp.tls-optional-login', 'high'],
  ] as const) {
    assert.equal(failed.get(id)?.severity, severity, `${id}: ${JSON.stringify(failed.get(id) ?? null)}`);
    assert.ok(failed.get(id)!.fix.length > 20);
  }
  assert.match(failed.get('posture.mfa-not-required')!.evidence[0]!, /1 of 1 enabled users/);
  const score = Object.fromEntries(report.layers.map((l) => [l.layer, l.score]));
  for (const layer of ['secure-protocol', 'encryption', 'mfa', 'access-restriction', 'monitoring'] as const) assert.ok(score[layer]! < 100, `${layer} lost points: ${score[layer]}`);
});

test('posture without a running server says so and exits non-zero', async (t) => {
  const dir = await makeTempDir(t, 'portcullis-posture-');
  const r = await runCli(['posture'], { cwd: dir });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /control socket cannot be reached|ERR_CONTROL_UNAVAILABLE/);
});

test('the self-scan exemption over the control socket: capped at 3 minutes, validated, ended on request', async (t) => {
  const s = await startTestServer(t, { defender: { enabled: true } });
  const capped = await controlRequest(s.dataDir, { op: 'posture.selfScan', seconds: 86_400 });
  assert.equal(capped.exemptSeconds, 180, 'asking for a day gets LIMITS.postureSelfScanMaxMs');
  assert.equal(s.server.core.access.defender.isSafe('127.0.0.1'), true);
  assert.equal(s.server.core.access.defender.isSafe('203.0.113.9'), false, 'only loopback');
  await assert.rejects(controlRequest(s.dataDir, { op: 'posture.selfScan', seconds: 'forever' as unknown as number }), /posture\.selfScan needs seconds/);
  await controlRequest(s.dataDir, { op: 'posture.selfScan', seconds: 0 });
  assert.equal(s.server.core.access.defender.isSafe('127.0.0.1'), false);
});
