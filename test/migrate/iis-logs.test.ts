// `portcullis migrate iis-logs` on realistic W3C logs, in-process and as the real command.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_ANALYSIS, networkOf } from '../../src/migrate/iis-log-analysis.ts';
import { analyzeIisLogs, findLogFiles } from '../../src/migrate/iis-logs.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';
import { sessionLines, writeIisLogs } from './iis-log-fixtures.ts';

void describe('IIS FTP log analysis', () => {
  void test('accounts, clear-text logins, networks, bans, anonymous, active mode and SITE across sites, days and a #Fields change', async (t) => {
    const dir = await makeTempDir(t);
    writeIisLogs(dir);
    const a = await analyzeIisLogs(findLogFiles(dir), DEFAULT_ANALYSIS);
    assert.equal(a.files, 3);
    assert.equal(a.malformedLines, 1);
    assert.deepEqual(a.sites, ['FTPSVC2', 'FTPSVC3']);
    assert.equal(a.firstSeen, '2023-12-29 06:27:23');
    const by = new Map(a.accounts.map((x) => [x.name, x]));
    assert.deepEqual([...by.keys()].sort(), ['FILES01\\alice', 'FILES01\\bob', 'FILES01\\dave', 'carol']);
    const alice = by.get('FILES01\\alice')!;
    assert.equal(alice.sessions, 2);
    assert.equal(alice.cleartextSessions, 1);
    assert.equal(alice.tlsSessions, 1);
    assert.equal(alice.lastLogin, '2023-12-30 07:00:03');
    assert.deepEqual(Object.keys(alice.networks), ['203.0.113.0/24']);
    assert.deepEqual(alice.siteCommands, { CHMOD: 1 });
    const bob = by.get('FILES01\\bob')!;
    assert.equal(bob.cleartextSessions, 0);
    assert.equal(bob.activeModeCommands, 1);
    assert.deepEqual(bob.bytesPerDay['2023-12-29'], { down: 5_000_000, up: 2_000_000 });
    const carol = by.get('carol')!;
    assert.equal(carol.tlsSessions, 2, 'implicit FTPS on 990 is TLS from the first byte');
    assert.deepEqual(Object.keys(carol.networks).sort(), ['192.0.2.0/24', '2001:db8:1:2::/64']);
    assert.deepEqual([...a.proposals.rotate].sort(), ['FILES01\\alice', 'FILES01\\dave']);
    assert.deepEqual(a.proposals.bans, ['192.0.2.66']);
    const dave = a.failedAddresses.find((f) => f.address === '203.0.113.77')!;
    assert.equal(dave.alsoSucceeded, true);
    assert.equal(a.failedAddresses[0]!.address, '192.0.2.66');
    assert.equal(a.failedAddresses[0]!.failures, 12);
    assert.deepEqual(a.failedAddresses[0]!.users.sort(), ['admin', 'administrator']);
    assert.equal(a.anonymous.sessions, 1);
    assert.deepEqual(a.anonymous.addresses, ['10.211.55.53']);
    assert.equal(a.anonymous.downloads, 1);
    assert.match(a.summary[0]!, /^4 accounts are active between 2023-12-29 06:27:23 and 2023-12-30 \d\d:\d\d:\d\d UTC/);
    assert.ok(a.summary.some((s) => /passwords crossed the network in clear: rotate them/.test(s)));
    assert.ok(a.summary.some((s) => /Anonymous login was used in 1 session/.test(s)));
    assert.ok(a.summary.some((s) => /proposed bans \(192\.0\.2\.66\)/.test(s)));
    assert.ok(a.summary.some((s) => /active mode/.test(s)));
    assert.ok(a.summary.some((s) => /SITE commands/.test(s) && /CHMOD/.test(s)));
    // one site only
    const only3 = await analyzeIisLogs(findLogFiles(dir, 'FTPSVC3'), DEFAULT_ANALYSIS);
    assert.deepEqual(only3.accounts.map((x) => x.name), ['carol']);
  });

  void test('networks: IPv4 /24, IPv6 /64 (compressed forms expanded), IPv4-mapped', () => {
    assert.equal(networkOf('203.0.113.9'), '203.0.113.0/24');
    assert.equal(networkOf('::ffff:203.0.113.9'), '203.0.113.0/24');
    assert.equal(networkOf('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(networkOf('2001:0db8:0001:0002:aaaa::1'), '2001:db8:1:2::/64');
  });

  void test('the command: text with the plain summary first, JSON, HTML with hostile names escaped, progress on stderr, clear errors', async (t) => {
    const dir = await makeTempDir(t);
    writeIisLogs(dir);
    const text = await runCli(['migrate', 'iis-logs', dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^IIS FTP log analysis\n\n\* 4 accounts are active/);
    assert.match(text.stdout, /portcullis ban add 192\.0\.2\.66/);
    assert.match(text.stdout, /portcullis user set FILES01\\alice --allow-from 203\.0\.113\.0\/24/);
    assert.equal(text.stderr.split('\n').filter((l) => l.startsWith('reading ')).length, 3, text.stderr);
    const json = await runCli(['migrate', 'iis-logs', dir, '--format', 'json', '--no-progress', '--ban-threshold', '1']);
    assert.equal(json.stderr, '');
    const parsed = JSON.parse(json.stdout) as { proposals: { bans: string[] } };
    assert.deepEqual(parsed.proposals.bans.sort(), ['192.0.2.66', '198.51.100.99']);
    const out = path.join(dir, 'report.html');
    const html = await runCli(['migrate', 'iis-logs', dir, '--format', 'html', '--output', out]);
    assert.equal(html.code, 0, html.stderr);
    const page = readFileSync(out, 'utf8');
    assert.ok(!page.includes('<script>x'), 'user names are escaped');
    assert.match(page, /&lt;script&gt;x&lt;\/script&gt;/);
    const missing = await runCli(['migrate', 'iis-logs', path.join(dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope: give the folder of the site's W3C logs .*\[ERR_MIGRATE_INPUT\]/);
    const noSite = await runCli(['migrate', 'iis-logs', dir, '--site', 'FTPSVC9']);
    assert.match(noSite.stderr, /no \.log files for site FTPSVC9 .*sites found: FTPSVC2, FTPSVC3/);
  });

  void test('large logs stream: 60,000 sessions in one file, read as a stream', async (t) => {
    const dir = await makeTempDir(t);
    const lines = ['#Software: Microsoft Internet Information Services 10.0', '#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-win32-status sc-substatus x-session x-fullpath'];
    for (let i = 0; i < 60_000; i++) {
      lines.push(...sessionLines('2024-01-02', '00:00:00', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, [['USER', `u${i % 500}`, '331'], ['PASS', '***', i % 7 ? '230' : '530', i % 7 ? '0' : '1326', `u${i % 500}`]]));
    }
    writeFileSync(path.join(dir, 'u_ex240102.log'), lines.join('\n'));
    const seen: number[] = [];
    const a = await analyzeIisLogs(findLogFiles(dir), DEFAULT_ANALYSIS, { file: () => undefined, bytes: (done) => seen.push(done), done: () => undefined });
    assert.equal(a.records, 60_000 * 4);
    assert.equal(a.accounts.length, 500);
    assert.equal(a.accounts.reduce((n, x) => n + x.sessions, 0), 60_000 - Math.ceil(60_000 / 7));
    assert.ok(a.bytesRead > 5e6, String(a.bytesRead));
    // Read in chunks as it streams (progress moved many times), not slurped at once.
    assert.ok(seen.length > 10 && seen.every((v, i) => i === 0 || v >= seen[i - 1]!), `progress: ${seen.length} steps`);
  });
});
