// `portcullis migrate iis` (the plan): IIS configurations read as IIS means them, hostile XML
// refused, and a configuration file that `portcullis config check` accepts.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isPortcullisError } from '../../src/errors/index.ts';
import { chooseSite, ISOLATION_MODES, readIisConfig } from '../../src/migrate/iis-config.ts';
import { buildImportPlan, ipEntryCidr, type ImportPlan } from '../../src/migrate/iis-plan.ts';
import { parseIisXml } from '../../src/migrate/iis-xml.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';
import { ADMINISTRATION_CONFIG, APPCMD_EXPORT, applicationHost } from './iis-config-fixtures.ts';
import { writeIisLogs } from './iis-log-fixtures.ts';

function plan(site: string, xml = applicationHost(), admin: string | undefined = ADMINISTRATION_CONFIG): ImportPlan {
  const config = readIisConfig(parseIisXml(xml, 'applicationHost.config'), admin ? parseIisXml(admin, 'administration.config') : undefined);
  return buildImportPlan({ config, site: chooseSite(config, site), source: { config: 'applicationHost.config', adminConfig: null, logs: null } });
}

const refused = (code: string) => (err: unknown) => isPortcullisError(err) && err.code === code;

void describe('IIS configuration import plan', () => {
  void test('users, permissions (deny wins), nested <location> rules, IIS Manager users, roles, invalid names', () => {
    const p = plan('Partners');
    const by = new Map(p.users.map((u) => [u.name, u]));
    assert.deepEqual([...by.keys()], ['alice', 'bob', 'carol', 'dave', 'erin', 'mgr1']);
    assert.equal(by.get('alice')!.access, 'read-write');
    assert.equal(by.get('bob')!.access, 'read-write', 'FILES01\\bob is bob');
    assert.deepEqual(by.get('bob')!.iisNames, ['files01\\bob']);
    assert.equal(by.get('carol')!.access, 'read-only');
    assert.equal(by.get('dave')!.access, 'read-only', 'Allow Read, Write + Deny Write: deny wins');
    assert.equal(by.get('erin')!.access, 'write-only', 'Write without Read: a drop box');
    assert.deepEqual(by.get('mgr1')!.sources, ['iis-manager', 'rule']);
    assert.ok(!by.has('mgr2'), 'a disabled IIS Manager user is not imported');
    assert.ok(!by.has('administrator'), 'the global rule was cleared by the site <location>');
    // frank: Allow Read then Deny Read
    assert.match(p.skippedUsers.find((s) => s.name === 'frank')!.reason, /no access/);
    assert.match(p.skippedUsers.find((s) => s.name === 'john smith')!.reason, /not a valid Portcullis user name/);
    // nested locations: carol gets Write in /incoming (added), bob only Read in /incoming/secret (<remove> then <add>), alice nothing there
    assert.ok(by.get('carol')!.review.some((r) => /Read, Write in \/incoming \(site root: Read\)/.test(r)));
    assert.ok(by.get('bob')!.review.some((r) => /Read in \/incoming\/secret .*broader than IIS there/.test(r)));
    assert.ok(by.get('alice')!.review.some((r) => /nothing in \/incoming\/secret/.test(r)));
    assert.ok(by.get('dave')!.review.some((r) => /role\(s\) contractors/.test(r)));
    // roles reported once each, never imported
    assert.deepEqual(p.notImported.filter((n) => n.what.startsWith('role ')).map((n) => n.what), ['role auditors (Allow Read)', 'role contractors (Deny Write)']);
    // homes: IsolateAllDirectories → LocalUser\name for IIS Manager users, DOMAIN\name otherwise
    assert.equal(by.get('mgr1')!.iisHome, 'D:\\ftp\\partners\\LocalUser\\mgr1');
    assert.equal(by.get('alice')!.iisHome, 'D:\\ftp\\partners\\FILES01\\alice');
    assert.equal(by.get('alice')!.sharedHome, null);
  });

  void test('addresses, defender, TLS, firewall, limits, and what cannot be imported', () => {
    const p = plan('Partners');
    assert.deepEqual(p.access, { allowListMode: true, allow: ['203.0.113.0/24', '127.0.0.1/32'], deny: ['192.0.2.66/32'] });
    assert.deepEqual(p.defender, { enabled: true, threshold: 5, observationMinutes: 10 });
    assert.deepEqual(p.config.ftps, { port: 21, implicitPort: 990, passivePorts: '50000-50100', passiveAddress: '198.51.100.10' });
    assert.deepEqual(p.config.limits, { maxConnections: 200, idleTimeoutMs: 300_000 });
    assert.ok(p.findings.some((f) => /Control channel TLS was optional/.test(f)));
    assert.ok(p.findings.some((f) => /Data channel TLS was optional/.test(f)));
    const what = p.notImported.map((n) => n.what);
    for (const re of [/^Windows passwords/, /^IIS Manager user passwords/, /^custom authentication provider SqlMembership/, /^domain rule allow partner\.example/, /^address rule 198\.51\.100\.0\/255\.0\.255\.0/, /^address rules for \/incoming$/, /^server certificate/, /^banner/, /^section directoryBrowse at Partners\/incoming\/secret/]) {
      assert.ok(what.some((w) => re.test(w)), `not imported: ${re}`);
    }
    const unc = p.notImported.find((n) => n.what.startsWith('virtual directory /archive'))!;
    assert.match(unc.why, /UNC share reached with stored credentials \(NAS\\svc-ftp/);
    assert.ok(!JSON.stringify(p).includes('c2VjcmV0'), 'the encrypted password never reaches the plan');
    assert.match(p.summary[0]!, /^Site "Partners" \(ftp \*:21, ftp \*:990\), isolation IsolateAllDirectories: 6 users to import \(3 read-write, 2 read-only, 1 write-only\), 2 accounts not imported\.$/);
  });

  void test('each isolation mode gives its homes; shared trees are flagged', () => {
    const expected: Record<string, { shared: boolean; iisHome: RegExp }> = {
      None: { shared: true, iisHome: /^D:\\ftp\\partners$/ },
      StartInUsersDirectory: { shared: true, iisHome: /^D:\\ftp\\partners\\alice \(if it exists/ },
      IsolateRootDirectoryOnly: { shared: false, iisHome: /^D:\\ftp\\partners\\FILES01\\alice$/ },
      IsolateAllDirectories: { shared: false, iisHome: /^D:\\ftp\\partners\\FILES01\\alice$/ },
      ActiveDirectory: { shared: false, iisHome: /msIIS-FTPRoot/ },
      Custom: { shared: false, iisHome: /custom home-directory provider/ },
    };
    for (const mode of ISOLATION_MODES) {
      const p = plan('Partners', applicationHost({ isolation: mode }));
      const alice = p.users.find((u) => u.name === 'alice')!;
      assert.equal(p.site.isolation, mode);
      assert.equal(alice.sharedHome !== null, expected[mode]!.shared, mode);
      assert.match(alice.iisHome, expected[mode]!.iisHome, mode);
      if (expected[mode]!.shared) assert.ok(alice.review.some((r) => /shared one tree/.test(r)), mode);
    }
    assert.ok(plan('Partners', applicationHost({ isolation: 'Custom' })).notImported.some((n) => n.what === 'user isolation mode Custom'));
  });

  void test('several sites: --site is required, unknown names are refused; the other site plans on its own', () => {
    const config = readIisConfig(parseIisXml(applicationHost(), 'a'));
    assert.deepEqual(config.sites.map((s) => s.name), ['Partners', 'Internal'], 'the web site is not an FTP site');
    assert.throws(() => chooseSite(config), refused('ERR_MIGRATE_SITE'));
    assert.throws(() => chooseSite(config, 'Nope'), refused('ERR_MIGRATE_SITE'));
    const internal = plan('internal', applicationHost(), undefined);
    assert.deepEqual(internal.users.map((u) => u.name), ['administrator'], 'the server-wide rule applies (no <clear/>); Allow * names nobody');
    assert.ok(internal.findings.some((f) => /Anonymous login is enabled/.test(f)));
    assert.ok(internal.notImported.some((n) => n.what === 'Allow rule for all users (*)'));
    assert.deepEqual(internal.config.ftps, { port: 2121, implicitPort: null, passivePorts: '50000-50100' });
  });

  void test('appcmd list site /config /xml output is read like applicationHost.config', () => {
    const p = plan('Partners', APPCMD_EXPORT, undefined);
    assert.equal(p.site.isolation, 'IsolateRootDirectoryOnly');
    assert.deepEqual(p.site.bindings, ['ftp *:21']);
    assert.equal(p.site.ssl.controlChannelPolicy, 'SslRequire');
  });

  void test('subnet masks to CIDRs', () => {
    const e = (ipAddress: string, subnetMask = '') => ipEntryCidr({ ipAddress, subnetMask, domainName: '', allowed: true });
    assert.equal(e('10.1.0.0', '255.255.0.0'), '10.1.0.0/16');
    assert.equal(e('10.1.2.3'), '10.1.2.3/32');
    assert.equal(e('2001:db8::', '48'), '2001:db8::/48');
    assert.equal(e('2001:db8::1'), '2001:db8::1/128');
    assert.equal(e('10.0.0.0', '255.0.255.0'), null);
    assert.equal(e('not-an-address'), null);
  });

  void test('SECURITY: DOCTYPE, external entities and billion laughs are refused before parsing', () => {
    const xxe = `<?xml version="1.0"?>\n<!DOCTYPE configuration [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<configuration><system.applicationHost><sites><site name="x" id="1"><bindings><binding protocol="ftp" bindingInformation="*:21:"/></bindings><ftpServer><messages bannerMessage="&xxe;"/></ftpServer></site></sites></system.applicationHost></configuration>`;
    const laughs = `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<configuration a="&lol3;"/>`;
    const bare = `<?xml version="1.0"?>\n<!DOCTYPE configuration>\n<configuration/>`;
    for (const xml of [xxe, laughs, bare]) assert.throws(() => parseIisXml(xml, 'hostile'), refused('ERR_MIGRATE_XML_REFUSED'));
    // undeclared entities stay text; predefined ones and character references decode
    const ok = parseIisXml('<configuration a="&amp;&lt;&#65;&#x42;&nope;"/>', 'ok');
    assert.equal(ok.attrs.a, '&<AB&nope;');
    // nesting deeper than the limit, and malformed XML
    assert.throws(() => parseIisXml(`${'<a>'.repeat(200)}${'</a>'.repeat(200)}`, 'deep'), refused('ERR_MIGRATE_XML_REFUSED'));
    assert.throws(() => parseIisXml('<configuration><site></configuration>', 'bad'), refused('ERR_MIGRATE_INPUT'));
  });

  void test('the real command: --out writes a portcullis.yaml that config check accepts, text/JSON/HTML plans; --logs plans the accounts that logged in', async (t) => {
    const dir = await makeTempDir(t);
    const app = path.join(dir, 'applicationHost.config');
    const admin = path.join(dir, 'administration.config');
    writeFileSync(app, applicationHost());
    writeFileSync(admin, ADMINISTRATION_CONFIG);
    const out = path.join(dir, 'out');
    const r = await runCli(['migrate', 'iis', app, '--admin-config', admin, '--site', 'Partners', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /6 users to import/);
    const check = await runCli(['config', 'check', '--config', path.join(out, 'portcullis.yaml')], { cwd: dir });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /ftps\.implicitPort = 990/);
    assert.match(check.stdout, /access\.allowListMode = true/);
    assert.match(check.stdout, /defender\.threshold = 5/);
    const json = JSON.parse(readFileSync(path.join(out, 'iis-import-plan.json'), 'utf8')) as ImportPlan;
    assert.equal(json.users.length, 6);
    assert.match(readFileSync(path.join(out, 'iis-import-plan.html'), 'utf8'), /<title>IIS FTP import plan: Partners<\/title>/);
    assert.match(readFileSync(path.join(out, 'iis-import-plan.txt'), 'utf8'), /^IIS FTP import plan \(nothing has been changed\)/);
    // several sites without --site: one clear line
    const ambiguous = await runCli(['migrate', 'iis', app]);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /2 FTP sites: choose one with --site \(Partners, Internal\) \[ERR_MIGRATE_SITE\]/);
    // the Internal site allowed every user (*): the logs say who really logged in
    const logs = path.join(dir, 'logs');
    writeIisLogs(logs);
    const withLogs = await runCli(['migrate', 'iis', app, '--site', 'Internal', '--logs', logs, '--format', 'json', '--no-progress']);
    assert.equal(withLogs.code, 0, withLogs.stderr);
    const p = JSON.parse(withLogs.stdout) as ImportPlan;
    assert.deepEqual(p.users.map((u) => [u.name, u.access, u.sources.join(',')]), [['administrator', 'read-write', 'rule'], ['carol', 'read-only', 'logs']]);
    assert.equal(p.users[1]!.sharedHome, 'internal', 'isolation None: one shared tree');
  });
});

void test('two Windows accounts with one name are flagged; hostile names are escaped in the HTML plan', async () => {
  const { formatPlanHtml } = await import('../../src/migrate/iis-plan-report.ts');
  const xml = applicationHost().replace('<add accessType="Allow" users="carol" permissions="Read" />', '<add accessType="Allow" users="carol, CORP\\carol, &lt;img src=x onerror=alert(1)&gt;" permissions="Read" />');
  const p = plan('Partners', xml);
  const carol = p.users.find((u) => u.name === 'carol')!;
  assert.deepEqual(carol.iisNames, ['carol', 'corp\\carol']);
  assert.ok(carol.review.some((r) => /several IIS accounts become "carol"/.test(r)));
  assert.ok(p.skippedUsers.some((s) => s.name === '<img src=x onerror=alert(1)>'));
  const html = formatPlanHtml(p);
  assert.ok(!html.includes('<img'), 'escaped');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
});
