import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Audit } from '../audit/audit.ts';
import type { AuditEvent, AuditRecord } from '../audit/events.ts';
import { parseConfig } from '../config/load.ts';
import { Store } from '../store/store.ts';
import { withinAccessHours, parseAccessHours } from './access-hours.ts';
import { addressKey, addressKeyer } from './address-key.ts';
import { Defender, scoreOf } from './defender.ts';
import { formatNftBans } from './nft-export.ts';
import { UserFailureThrottle } from './user-failure-throttle.ts';
import { formatFail2banLine } from '../audit/sinks/fail2ban.ts';

let dir: string;
let store: Store;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'defender-test-'));
  store = await Store.open({ driver: 'sqlite', url: path.join(dir, 'db.sqlite') });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const failed = (address: string, reason: 'bad-credentials' | 'unknown-user', user = 'alice'): AuditEvent => ({ type: 'auth.failed', protocol: 'sftp', remoteAddress: address, user, method: 'password', code: 'ERR_AUTH_FAILED', reason });

test('scores add up within the window; the threshold bans; bans double for repeat offenders', async () => {
  let now = Date.parse('2026-11-21T10:00:00Z');
  const audit = new Audit();
  const events: AuditRecord[] = [];
  audit.subscribe((r) => events.push(r));
  const config = parseConfig({ defender: { threshold: 5, observationMinutes: 10, banMinutes: 30, maxBanMinutes: 100, safeList: ['192.0.2.0/24'] } }).defender;
  const d = new Defender(config, store.policy, audit, () => now);

  audit.emit(failed('198.51.100.1', 'unknown-user')); // 2
  audit.emit(failed('198.51.100.1', 'bad-credentials')); // 3
  now += 11 * 60_000; // the first two age out of the window
  audit.emit(failed('198.51.100.1', 'unknown-user')); // 2
  assert.equal(d.scoreOf('198.51.100.1'), 2);
  assert.equal(d.banOf('198.51.100.1'), null);
  audit.emit({ type: 'protocol.malformed', protocol: 'ftps', remoteAddress: '198.51.100.1', code: 'ERR_PROTOCOL_MALFORMED', detail: 'x' }); // 5
  await new Promise((r) => setImmediate(r));
  const ban = d.banOf('198.51.100.1');
  assert.ok(ban, 'banned at the threshold');
  assert.equal(Date.parse(ban.expiresAt) - now, 30 * 60_000);
  assert.ok(events.some((e) => e.event === 'policy.ban.added' && e.remoteAddress === '198.51.100.1'));

  // Persisted: a new defender (a restart) sees it.
  const restarted = new Defender(config, store.policy, new Audit(), () => now);
  await restarted.reload();
  assert.ok(restarted.banOf('198.51.100.1'));

  // Expiry lifts it, audited.
  now += 31 * 60_000;
  assert.equal(d.banOf('198.51.100.1'), null);
  assert.ok(events.some((e) => e.event === 'policy.ban.lifted' && e.remoteAddress === '198.51.100.1'));

  // A repeat offender within a day: 60 minutes, then capped at 100.
  const second = await d.ban('198.51.100.1', 'again', 'defender');
  assert.equal(Date.parse(second.expiresAt) - now, 60 * 60_000);
  now += 61 * 60_000;
  const third = await d.ban('198.51.100.1', 'again', 'defender');
  assert.equal(Date.parse(third.expiresAt) - now, 100 * 60_000);

  // The safe list is never scored.
  for (let i = 0; i < 10; i++) audit.emit(failed('192.0.2.9', 'unknown-user'));
  assert.equal(d.scoreOf('192.0.2.9'), 0);
  assert.equal(d.banOf('192.0.2.9'), null);

  // Attempts during a ban are not scored by default.
  audit.emit({ type: 'conn.refused', protocol: 'sftp', remoteAddress: '198.51.100.1', code: 'ERR_ADMISSION_BANNED', rule: 'ban' });
  assert.equal(d.scoreOf('198.51.100.1'), 0);

  // Lift by hand.
  assert.equal(await d.lift('198.51.100.1'), 1);
  assert.equal(d.banOf('198.51.100.1'), null);
  d.close();
});

test('the posture self-scan exemption covers loopback only, for a bounded time', () => {
  let now = Date.parse('2026-11-21T10:00:00Z');
  const audit = new Audit();
  const d = new Defender(parseConfig({ defender: { threshold: 5 } }).defender, store.policy, audit, () => now);
  d.exemptLoopback(60 * 60_000); // asks for an hour: capped at LIMITS.postureSelfScanMaxMs
  for (let i = 0; i < 10; i++) {
    audit.emit(failed('127.0.0.1', 'unknown-user'));
    audit.emit(failed('::1', 'unknown-user'));
  }
  assert.equal(d.scoreOf('127.0.0.1'), 0);
  assert.equal(d.scoreOf('::1'), 0);
  // Not loopback: scored as ever, even during the self-scan.
  audit.emit(failed('10.0.0.1', 'unknown-user'));
  assert.equal(d.scoreOf('10.0.0.1'), 2);
  assert.equal(d.isSafe('127.0.0.1'), true);
  now += 181_000;
  assert.equal(d.isSafe('127.0.0.1'), false, 'the exemption expires on its own');
  audit.emit(failed('127.0.0.1', 'unknown-user'));
  assert.equal(d.scoreOf('127.0.0.1'), 2);
  d.exemptLoopback(60_000);
  d.exemptLoopback(0);
  assert.equal(d.isSafe('127.0.0.1'), false, 'and ends when asked');
  d.close();
});

test('the user-failure throttle grows the delay per failure and never refuses', () => {
  let now = 0;
  const audit = new Audit();
  const t = new UserFailureThrottle(parseConfig({ rateLimits: { userFailuresBeforeDelay: 3, userMaxDelayMs: 2000, userFailureWindowMinutes: 1 } }).rateLimits, audit, () => now);
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    delays.push(t.delayFor('alice', '203.0.113.200'));
    audit.emit(failed(`203.0.113.${i}`, 'bad-credentials'));
  }
  assert.deepEqual(delays, [0, 0, 0, 250, 500, 1000, 2000, 2000], 'failures spread over many addresses slow a new address');
  assert.equal(t.delayFor('bob', '203.0.113.200'), 0, 'other users are not slowed');
  now += 61_000;
  assert.equal(t.delayFor('alice', '203.0.113.200'), 0, 'the window forgets');
  t.close();
});

test('the throttle slows the attacker, not the owner: a source the user logged in from is not slowed by failures elsewhere (14.12)', () => {
  const audit = new Audit();
  const t = new UserFailureThrottle(parseConfig({ rateLimits: { userFailuresBeforeDelay: 5, userMaxDelayMs: 8000 } }).rateLimits, audit, () => 1_000);
  audit.emit({ type: 'auth.succeeded', protocol: 'sftp', remoteAddress: '198.51.100.10', user: 'alice', methods: ['password'] });
  audit.emit({ type: 'auth.succeeded', protocol: 'sftp', remoteAddress: '2001:db8:aa:1::5', user: 'alice', methods: ['password'] });
  // About 90 failures against alice from many addresses (the measured lock-out).
  for (let i = 0; i < 90; i++) audit.emit(failed(`203.0.${Math.floor(i / 200)}.${i % 200}`, 'bad-credentials'));
  assert.equal(t.delayFor('alice', '198.51.100.10'), 0, "the owner's address is not delayed");
  assert.equal(t.delayFor('alice', '2001:db8:aa:1::77'), 0, "nor another address of the owner's IPv6 prefix");
  assert.equal(t.delayFor('alice', '192.0.2.1'), 8000, 'an address without history still waits');
  assert.equal(t.delayFor('bob', '192.0.2.1'), 0);
  // One guesser on the owner's network is slowed by its own failures.
  for (let i = 0; i < 7; i++) audit.emit(failed('198.51.100.10', 'bad-credentials'));
  assert.equal(t.delayFor('alice', '198.51.100.10'), 1000, 'its own failures count');
  // Not-enrolled MFA is an honest user, not a failure to count.
  const u = new UserFailureThrottle(parseConfig({ rateLimits: { userFailuresBeforeDelay: 1 } }).rateLimits, audit, () => 1_000);
  for (let i = 0; i < 5; i++) audit.emit({ type: 'auth.failed', protocol: 'sftp', remoteAddress: '192.0.2.50', user: 'carol', method: 'totp', code: 'ERR_AUTH_MFA_NOT_ENROLLED', reason: 'mfa-not-enrolled' });
  assert.equal(u.delayFor('carol', '192.0.2.50'), 0);
  u.close();
  t.close();
});

test('IPv6 is scored and banned per /64 (IPv4-mapped addresses as IPv4); the prefix is configurable (14.14)', async () => {
  const now = Date.parse('2026-11-22T10:00:00Z');
  const audit = new Audit();
  const config = parseConfig({ defender: { threshold: 4 } }).defender;
  const d = new Defender(config, store.policy, audit, () => now, addressKeyer(64));
  audit.emit(failed('2001:db8:5:6::1', 'unknown-user'));
  assert.equal(d.scoreOf('2001:db8:5:6::9'), 2, 'another address of the /64 shares the score');
  audit.emit(failed('2001:db8:5:6:ffff::2', 'unknown-user'));
  await new Promise((r) => setImmediate(r));
  const ban = d.banOf('2001:db8:5:6:1234::1');
  assert.ok(ban, 'an address never seen, in the same /64, is banned');
  assert.equal(ban.address, '2001:db8:5:6::/64');
  assert.equal(d.banOf('2001:db8:5:7::1'), null, 'the next /64 is not');
  assert.equal(addressKey('::ffff:192.0.2.4', 64), '192.0.2.4');
  assert.equal(addressKey('2001:DB8:0:0:1::1', 48), '2001:db8::/48');
  assert.equal(addressKey('2001:db8::1', 128), '2001:db8::1');
  // An operator's ban of one IPv6 address covers its prefix; lifting any address of it lifts it.
  const banned: string[] = [];
  d.onBanned((k) => banned.push(k));
  await d.ban('2001:db8:9::7', 'by hand', 'cli', 10);
  assert.deepEqual(banned, ['2001:db8:9::/64']);
  assert.ok(d.banOf('2001:db8:9::8'));
  assert.equal(await d.lift('2001:db8:9::1'), 1);
  assert.equal(d.banOf('2001:db8:9::7'), null);
  d.close();
});

test('honest clients are not scored like attackers (13.3): MFA not enrolled scores nothing, a rate-limited connection far less than a wrong password', () => {
  const scores = parseConfig({}).defender.scores;
  const base = { protocol: 'sftp' as const, remoteAddress: '192.0.2.1', ts: '', user: 'a' };
  assert.equal(scoreOf({ ...base, type: 'auth.failed', event: 'auth.failed', method: 'totp', code: 'ERR_AUTH_MFA_NOT_ENROLLED', reason: 'mfa-not-enrolled' }, scores), 0);
  assert.equal(scoreOf({ ...base, type: 'auth.failed', event: 'auth.failed', method: 'totp', code: 'ERR_AUTH_FAILED', reason: 'bad-credentials' }, scores), scores.mfaFailure);
  const limited = scoreOf({ ...base, type: 'conn.refused', event: 'conn.refused', code: 'ERR_ADMISSION_RATE_LIMITED', rule: 'x' }, scores);
  assert.ok(limited > 0 && limited <= scores.wrongPassword / 10, `rate-limited refusal scores ${limited}`);
  assert.equal(scoreOf({ ...base, type: 'conn.refused', event: 'conn.refused', code: 'ERR_ADMISSION_BANNED', rule: 'x' }, scores), 0);
});

test('access hours', () => {
  const at = (s: string) => new Date(s);
  assert.equal(withinAccessHours('', at('2026-11-21T03:00:00')), true);
  assert.equal(withinAccessHours('mon-fri 08:00-18:00', at('2026-11-20T09:00:00')), true); // Friday
  assert.equal(withinAccessHours('mon-fri 08:00-18:00', at('2026-11-21T09:00:00')), false); // Saturday
  assert.equal(withinAccessHours('mon-fri 08:00-18:00', at('2026-11-20T18:00:00')), false);
  assert.equal(withinAccessHours('22:00-06:00', at('2026-11-20T23:30:00')), true);
  assert.equal(withinAccessHours('22:00-06:00', at('2026-11-20T05:59:00')), true);
  assert.equal(withinAccessHours('22:00-06:00', at('2026-11-20T12:00:00')), false);
  assert.equal(withinAccessHours('sat 09:00-12:00; mon-fri 08:00-18:00', at('2026-11-21T10:00:00')), true);
  for (const bad of ['mon-fry 08:00-18:00', '8-18', 'mon 25:00-26:00', 'a b c']) assert.throws(() => parseAccessHours(bad), /ERR|not valid|expected|days|HH:MM/);
});

test('nft export is a valid nftables script shape with per-ban timeouts', () => {
  const now = Date.parse('2026-11-21T10:00:00Z');
  const out = formatNftBans(
    [
      { id: 1, address: '203.0.113.7', reason: 'x', source: 'defender', createdAt: '', expiresAt: '2026-11-21T10:30:00Z' },
      { id: 2, address: '2001:db8::5', reason: 'x', source: 'cli', createdAt: '', expiresAt: '2026-11-21T11:00:00Z' },
      { id: 3, address: '2001:db8:1:2::/64', reason: 'x', source: 'defender', createdAt: '', expiresAt: '2026-11-21T11:00:00Z' },
    ],
    now,
  );
  assert.match(out, /set banned_v4 \{\n\t\ttype ipv4_addr\n\t\tflags interval, timeout\n\t\telements = \{ 203\.0\.113\.7 timeout 1800s \}/);
  assert.match(out, /elements = \{ 2001:db8::5 timeout 3600s, 2001:db8:1:2::\/64 timeout 3600s \}/);
  assert.match(out, /ip saddr @banned_v4 drop/);
  // Balanced braces, every statement on its own line.
  assert.equal((out.match(/\{/g) ?? []).length, (out.match(/\}/g) ?? []).length);
  assert.doesNotMatch(formatNftBans([], now), /elements/);
});

test('fail2ban lines are fixed-format and cannot be forged by a user name', () => {
  const line = formatFail2banLine({ ...failed('203.0.113.9', 'unknown-user', 'x"\nFAKE 1.2.3.4'), ts: '2026-11-21T10:00:00.000Z', event: 'auth.failed' });
  assert.equal(line, '2026-11-21T10:00:00.000Z portcullis: authentication failure from 203.0.113.9 protocol=sftp user="x??FAKE?1.2.3.4" reason=unknown-user\n');
  assert.equal(formatFail2banLine({ type: 'auth.succeeded', ts: '', event: 'auth.succeeded', methods: [] }), null);
});

test('workers: the failure that reaches the shared threshold is settled only once the ban is handed to the other workers; a ban handed over is kept through a reload', async () => {
  const audit = new Audit();
  const config = parseConfig({ defender: { threshold: 3 } }).defender;
  const d = new Defender(config, store.policy, audit);
  // The primary's total answers late; the ban's hand-over too.
  let total = 2;
  let answer!: () => void;
  d.shareScores({ add: () => new Promise((r) => (answer = () => r(++total))) });
  const announced: string[] = [];
  let handOver!: () => void;
  d.shareBans({ announce: (ban) => new Promise((r) => (handOver = () => (announced.push(ban.address), r()))), onAnnounced: () => undefined });
  audit.emit(failed('203.0.113.77', 'bad-credentials')); // 2 points here, 3 in total
  let settled = false;
  const s = d.settled('203.0.113.77').then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'not settled while the total is asked for');
  answer();
  for (let i = 0; i < 20 && !handOver; i++) await new Promise((r) => setImmediate(r));
  assert.ok(d.banOf('203.0.113.77'), 'banned here at once');
  assert.equal(settled, false, 'not settled before the other workers have the ban');
  handOver();
  await s;
  assert.deepEqual(announced, ['203.0.113.77']);

  // A ban announced by another worker, its row not in the store yet: a reload keeps it.
  let hand!: (ban: import('../store/policy-repository.ts').Ban) => void;
  const e = new Defender(config, store.policy, new Audit());
  e.shareBans({ announce: () => Promise.resolve(), onAnnounced: (fn) => (hand = fn) });
  const reload = e.reload();
  hand({ id: 0, address: '203.0.113.88', reason: 'test', source: 'defender', createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() });
  await reload;
  assert.ok(e.banOf('203.0.113.88'), 'still in force after the reload that began before it');
  d.close();
  e.close();
});
