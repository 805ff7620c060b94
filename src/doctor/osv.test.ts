import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadOsv, matchInstalled, rangesFromEvents, type InstalledPackage } from './osv.ts';

test('OSV events become semver ranges (introduced opens, fixed closes exclusive, last_affected inclusive)', () => {
  assert.deepEqual(rangesFromEvents([{ introduced: '0' }, { fixed: '1.4.0' }]), ['>=0.0.0 <1.4.0']);
  assert.deepEqual(rangesFromEvents([{ introduced: '7.0.0' }, { fixed: '7.5.2' }, { introduced: '6.0.0' }, { fixed: '6.3.1' }]), ['>=6.0.0 <6.3.1', '>=7.0.0 <7.5.2']);
  assert.deepEqual(rangesFromEvents([{ introduced: '2.0.0' }, { last_affected: '2.3.9' }]), ['>=2.0.0 <=2.3.9']);
  assert.deepEqual(rangesFromEvents([{ introduced: '3.0.0' }]), ['>=3.0.0']);
  assert.deepEqual(rangesFromEvents([{ introduced: '1.0.0' }, { limit: '2.0.0' }]), ['>=1.0.0']);
});

test('a single GitHub-style OSV record, a withdrawn one, explicit versions and prereleases', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'osv-'));
  try {
    const file = path.join(dir, 'GHSA-aaaa-bbbb-cccc.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'GHSA-aaaa-bbbb-cccc',
        modified: '2026-10-01T12:00:00Z',
        aliases: ['CVE-2026-0001'],
        summary: 'a test',
        affected: [
          { package: { ecosystem: 'npm', name: 'demo' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { fixed: '1.2.0' }] }], versions: ['0.9.0'] },
          { package: { ecosystem: 'PyPI', name: 'demo' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] },
        ],
        database_specific: { severity: 'CRITICAL', portcullis: { reachable: false, note: 'only the CLI parser uses it' } },
      }),
    );
    const set = loadOsv(file);
    assert.equal(set.date, '2026-10-01');
    assert.equal(set.advisories[0]!.severity, 'critical');
    const pkg = (version: string): InstalledPackage => ({ name: 'demo', version, location: 'node_modules/demo', dev: false, dependents: [] });
    const hits = matchInstalled(set, [pkg('1.1.9'), pkg('1.2.0'), pkg('0.9.0'), pkg('1.2.0-rc.1'), pkg('0.8.0')]);
    assert.deepEqual(hits.map((h) => `${h.pkg.version}:${h.fixedIn}`), ['1.1.9:1.2.0', '0.9.0:null', '1.2.0-rc.1:1.2.0']);
    assert.deepEqual(hits[0]!.advisory.reachability, { reachable: false, note: 'only the CLI parser uses it' });
    writeFileSync(file, JSON.stringify({ id: 'GHSA-x', modified: '2026-01-01', withdrawn: '2026-02-01', affected: [{ package: { ecosystem: 'npm', name: 'demo' }, versions: ['1.0.0'] }] }));
    assert.equal(loadOsv(file).advisories.length, 0);
    writeFileSync(file, JSON.stringify({ id: 'GHSA-y', affected: [{ package: { ecosystem: 'npm', name: 'demo' } }] }));
    assert.throws(() => loadOsv(file), { code: 'ERR_DOCTOR_ADVISORIES', message: /GHSA-y: modified/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundled advisories load and do not flag the installed tree', () => {
  const set = loadOsv();
  assert.ok(set.advisories.length >= 5);
  assert.ok(set.advisories.every((a) => a.packages.every((p) => p.ranges.length > 0)));
});
