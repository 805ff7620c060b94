import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../config/load.ts';
import { isPortcullisError } from '../errors/index.ts';
import type { ScanReport } from '../scanner/types.ts';
import { POSTURE_CHECKS, releaseLine } from './checks.ts';
import { loadLifecycle, type Lifecycle } from './lifecycle.ts';
import { evaluateConfiguration, listenerUrl, scanResults, scoreLayers, type PostureResult } from './posture.ts';
import type { PostureSnapshot } from './snapshot.ts';

const NOW = new Date('2026-11-21T12:00:00Z');
const lifecycle: Lifecycle = {
  file: 'test',
  date: '2026-11-21',
  node: {
    20: { eol: '2026-04-30', maintenanceFrom: '2024-10-22', latest: '20.20.2' },
    22: { eol: '2027-04-30', maintenanceFrom: '2025-10-21', latest: '22.23.3' },
    24: { eol: '2028-04-30', maintenanceFrom: '2026-10-20', latest: '24.21.0' },
  },
  dependencies: { ssh2: '1.17.0', kysely: '0.29.9', pino: '10.4.0' },
  advisories: [{ package: 'ssh2', id: 'TEST-2026-1', summary: 'a test advisory', fixedIn: '1.16.0' }],
};

function snapshot(over: { config?: Parameters<typeof parseConfig>[0]; node?: string; deps?: PostureSnapshot['dependencies']; users?: Partial<PostureSnapshot['users']> } = {}): PostureSnapshot {
  return {
    server: { version: '0.1.0', node: over.node ?? 'v24.21.0', openssl: '3.0', pid: 1, startedAt: NOW.toISOString(), dataDir: '/d', configFile: null, fromEnv: [] },
    config: parseConfig(over.config ?? {}),
    listeners: [],
    certificate: { pem: '', file: '/d/tls/cert.pem' },
    users: { total: 2, disabled: 0, needMfa: 2, withoutMfa: 0, exempt: [], notEnrolled: [], ...over.users },
    dependencies: over.deps ?? [
      { name: 'ssh2', version: '1.17.0' },
      { name: 'pino', version: '10.4.0' },
    ],
  };
}

const verdict = (snap: PostureSnapshot, id: string) => evaluateConfiguration({ snapshot: snap, lifecycle, now: NOW }).find((r) => r.id === id)!;

test('every posture check has a unique posture.* id, a layer, a severity and a fix', () => {
  const ids = POSTURE_CHECKS.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const c of POSTURE_CHECKS) {
    assert.match(c.id, /^posture\.[a-z-]+$/);
    assert.ok(c.fix.length > 20, `${c.id} says how to fix it`);
  }
});

test('the default configuration passes every configuration check above info', () => {
  const results = evaluateConfiguration({ snapshot: snapshot(), lifecycle, now: NOW }).filter((r) => r.id !== 'posture.certificate-expiry' && r.id !== 'posture.certificate-self-signed');
  const above = results.filter((r) => r.status === 'fail' && r.severity !== 'info');
  assert.deepEqual(above.map((r) => r.id), []);
});

test('each weakened setting is found, with its severity', () => {
  const cases: [Parameters<typeof parseConfig>[0], string, string][] = [
    [{ ftps: { allowPlaintext: true } }, 'posture.plaintext-ftp', 'high'],
    [{ sftp: { legacyAlgorithms: ['hmac-sha2-256'] } }, 'posture.ssh-legacy-algorithms', 'low'],
    [{ sftp: { legacyAlgorithms: ['ssh-rsa'] } }, 'posture.ssh-legacy-algorithms', 'medium'],
    [{ ftps: { dataTlsSessionReuse: 'optional' } }, 'posture.ftps-data-session-reuse', 'medium'],
    [{ mfa: { required: false } }, 'posture.mfa-not-required', 'medium'],
    [{ defender: { enabled: false } }, 'posture.defender-off', 'medium'],
    [{ defender: { safeList: ['10.0.0.0/8'] } }, 'posture.defender-safelist-broad', 'medium'],
    [{ rateLimits: { connectionsPerSecond: 0 } }, 'posture.connection-rate-off', 'low'],
    [{ metrics: { address: '0.0.0.0' } }, 'posture.metrics-exposed', 'low'],
    [{ admin: { enabled: true, address: '0.0.0.0' } }, 'posture.admin-exposed', 'medium'],
    [{ audit: { file: false } }, 'posture.audit-off', 'low'],
    [{ audit: { file: false, store: false } }, 'posture.audit-off', 'high'],
    [{ metrics: { enabled: false } }, 'posture.metrics-off', 'low'],
    [{ log: { level: 'silent' } }, 'posture.log-level', 'low'],
  ];
  for (const [config, id, severity] of cases) {
    const r = verdict(snapshot({ config }), id);
    assert.equal(r.status, 'fail', `${id} found for ${JSON.stringify(config)}`);
    assert.equal(r.severity, severity, `${id} severity`);
    assert.ok(r.evidence.length > 0);
  }
  // Narrow safe lists are fine.
  assert.equal(verdict(snapshot({ config: { defender: { safeList: ['192.0.2.10', '2001:db8:1::/64'] } } }), 'posture.defender-safelist-broad').status, 'pass');
});

test('MFA: exempt users and users who have not enrolled', () => {
  const exempt = verdict(snapshot({ users: { withoutMfa: 1, exempt: ['batch'] } }), 'posture.mfa-exempt-users');
  assert.equal(exempt.status, 'fail');
  assert.match(exempt.evidence[0]!, /batch/);
  const pending = verdict(snapshot({ users: { notEnrolled: ['alice'] } }), 'posture.mfa-not-enrolled');
  assert.equal(pending.status, 'fail');
  assert.equal(pending.severity, 'info', 'a user who cannot log in yet is a note, not a hole');
});

test('runtime: an end-of-life line, a line behind on releases, a current one, one newer than the data', () => {
  const eol = verdict(snapshot({ node: 'v20.20.2' }), 'posture.runtime');
  assert.equal(eol.status, 'fail');
  assert.equal(eol.severity, 'medium');
  assert.match(eol.evidence[0]!, /end of life on 2026-04-30/);
  assert.match(eol.fix, /22 or 24/);
  const behind = verdict(snapshot({ node: 'v22.11.0' }), 'posture.runtime');
  assert.equal(behind.status, 'fail');
  assert.equal(behind.severity, 'low');
  assert.match(behind.evidence[0]!, /22\.23\.3 is out/);
  const current = verdict(snapshot({ node: 'v22.23.3' }), 'posture.runtime');
  assert.equal(current.status, 'pass');
  assert.match(current.evidence[0]!, /maintenance until 2027-04-30/);
  assert.equal(verdict(snapshot({ node: 'v30.1.0' }), 'posture.runtime').status, 'pass');
  assert.equal(verdict(snapshot({ node: 'v19.9.0' }), 'posture.runtime').status, 'fail', 'a line the data does not know and older than it knows');
});

test('dependencies: an advisory is high, a release behind on its line is low, a newer major line is a note', () => {
  const vulnerable = verdict(snapshot({ deps: [{ name: 'ssh2', version: '1.15.0' }] }), 'posture.dependencies');
  assert.equal(vulnerable.status, 'fail');
  assert.equal(vulnerable.severity, 'high');
  assert.match(vulnerable.evidence.join('\n'), /TEST-2026-1/);
  const behind = verdict(snapshot({ deps: [{ name: 'pino', version: '10.1.0' }] }), 'posture.dependencies');
  assert.equal(behind.status, 'fail');
  assert.equal(behind.severity, 'low');
  const newerLine = verdict(snapshot({ deps: [{ name: 'kysely', version: '0.28.18' }, { name: 'ssh2', version: '1.17.0' }] }), 'posture.dependencies');
  assert.equal(newerLine.status, 'pass', '0.28 → 0.29 is a new release line (semver below 1.0)');
  assert.match(newerLine.evidence.join('\n'), /newer major versions.*kysely 0\.28\.18 → 0\.29\.9/);
  assert.equal(releaseLine('0.28.18'), '0.28');
  assert.equal(releaseLine('12.11.1'), '12');
});

test('scores: info costs nothing; low 10, medium 25, high 50; floor 0; errors are counted, not scored', () => {
  const r = (layer: PostureResult['layer'], severity: PostureResult['severity'], status: PostureResult['status'] = 'fail'): PostureResult => ({ id: 'x', title: 'x', layer, severity, status, evidence: [], fix: '', source: 'configuration' });
  const layers = scoreLayers([r('mfa', 'info'), r('mfa', 'low'), r('encryption', 'medium'), r('encryption', 'high'), r('patching', 'critical'), r('patching', 'high'), r('monitoring', 'high', 'error'), r('monitoring', 'low', 'pass')]);
  const score = Object.fromEntries(layers.map((l) => [l.layer, l.score]));
  assert.deepEqual(score, { 'secure-protocol': 100, encryption: 25, mfa: 90, 'access-restriction': 100, monitoring: 100, patching: 0 });
  assert.equal(layers.find((l) => l.layer === 'monitoring')!.notChecked, 1);
});

test('ssh.password-auth from the scan is settled only when every user needs MFA', () => {
  const scan = {
    targets: [{ target: { url: 'sftp://127.0.0.1:2222' }, results: [{ id: 'ssh.password-auth', title: 't', layer: 'mfa', severity: 'medium', status: 'fail', evidence: ['methods: publickey,password,keyboard-interactive'], fix: 'f' }] }],
  } as unknown as ScanReport;
  const settled = scanResults(scan, snapshot())[0]!;
  assert.equal(settled.status, 'pass');
  assert.equal(settled.settledBy, 'mfa.required');
  assert.equal(scanResults(scan, snapshot({ users: { withoutMfa: 1, exempt: ['batch'] } }))[0]!.status, 'fail', 'an exempt user keeps the finding');
  assert.equal(scanResults(scan, snapshot({ config: { mfa: { required: false } } }))[0]!.status, 'fail');
});

test('listener URLs: wildcard binds are reached over loopback; explicit FTPS is ftp://', () => {
  assert.equal(listenerUrl({ scheme: 'ftp', address: '0.0.0.0', port: 2121 }), 'ftp://127.0.0.1:2121');
  assert.equal(listenerUrl({ scheme: 'sftp', address: '::', port: 2222 }), 'sftp://[::1]:2222');
  assert.equal(listenerUrl({ scheme: 'ftps', address: '192.0.2.5', port: 990 }), 'ftps://192.0.2.5:990');
});

test('a malformed lifecycle file is refused with the key and the reason', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifecycle-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'l.json');
  await writeFile(file, JSON.stringify({ date: '2026-11-21', node: { 22: { eol: 'soon', maintenanceFrom: '2025-10-21', latest: '22.1.0' } }, dependencies: {}, advisories: [] }));
  assert.throws(() => loadLifecycle(file), (err: unknown) => isPortcullisError(err) && err.code === 'ERR_POSTURE_LIFECYCLE' && /node\.22\.eol must be a date/.test(err.message));
  await writeFile(file, '{not json');
  assert.throws(() => loadLifecycle(file), /cannot read JSON/);
  assert.ok(loadLifecycle().node['22'], 'the bundled file loads');
});
