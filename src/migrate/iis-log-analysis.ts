// What N days of IIS FTP W3C logs say about the people who will move: active accounts and their
// last login, anonymous use, accounts whose passwords crossed in clear (no AUTH TLS in a session
// that logged in), the networks each account comes from, addresses that failed to log in many
// times, bytes per account per day, active mode and SITE use. One pass, bounded state per session.
import net from 'node:net';
import type { W3cRecord } from './w3c.ts';

/** Logins that succeed: 230 (and 232, logged in with a client certificate). */
const LOGIN_OK = new Set(['230', '232']);
const ANONYMOUS = new Set(['anonymous', 'ftp']);
/** Sessions still open after this many records of other sessions are folded as they are (a log
 * that lost its ControlChannelClosed line must not grow the state without end). */
const MAX_OPEN_SESSIONS = 100_000;

export interface AccountStats {
  name: string;
  sessions: number;
  firstLogin: string;
  lastLogin: string;
  /** Logged-in sessions that never sent AUTH TLS/SSL (and were not implicit FTPS). */
  cleartextSessions: number;
  tlsSessions: number;
  addresses: Record<string, number>;
  /** IPv4 /24 or IPv6 /64 → sessions. */
  networks: Record<string, number>;
  failedLogins: number;
  downloads: number;
  uploads: number;
  /** Day (YYYY-MM-DD) → bytes sent to / received from this account (when the log has sc-bytes/cs-bytes). */
  bytesPerDay: Record<string, { down: number; up: number }>;
  activeModeCommands: number;
  siteCommands: Record<string, number>;
  sites: string[];
}

export interface FailedAddress {
  address: string;
  failures: number;
  users: string[];
  first: string;
  last: string;
  /** A login from this address succeeded at least once (a typo, not necessarily an attack). */
  alsoSucceeded: boolean;
}

export interface LogAnalysis {
  files: number;
  records: number;
  malformedLines: number;
  bytesRead: number;
  firstSeen?: string;
  lastSeen?: string;
  sites: string[];
  hasByteCounts: boolean;
  accounts: AccountStats[];
  anonymous: { sessions: number; addresses: string[]; downloads: number; uploads: number };
  failedAddresses: FailedAddress[];
  proposals: {
    /** Accounts whose passwords crossed in clear at least once: rotate them. */
    rotate: string[];
    /** Accounts that always came from at most `maxAllowNetworks` networks: a starting allow-list. */
    allowLists: { account: string; networks: string[] }[];
    /** Addresses with at least `banThreshold` failed logins and no success. */
    bans: string[];
  };
  summary: string[];
}

interface SessionState {
  site: string;
  ip: string;
  port: string;
  userArg?: string;
  account?: string;
  loginAt?: string;
  tls: boolean;
  downloads: number;
  uploads: number;
  down: Map<string, number>;
  up: Map<string, number>;
  active: number;
  siteCommands: Map<string, number>;
  failures: number;
}

export interface AnalysisOptions {
  banThreshold: number;
  maxAllowNetworks: number;
}

export const DEFAULT_ANALYSIS: AnalysisOptions = { banThreshold: 10, maxAllowNetworks: 3 };

/** IPv4 → a.b.c.0/24, IPv6 → its /64, anything else as it is. */
export function networkOf(ip: string): string {
  const v = ip.replace(/^::ffff:/i, '');
  if (net.isIPv4(v)) return `${v.split('.').slice(0, 3).join('.')}.0/24`;
  if (net.isIPv6(v)) {
    const [head = '', tail = ''] = v.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const full = v.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    return `${full.slice(0, 4).map((x) => x.replace(/^0+(?=.)/, '')).join(':')}::/64`;
  }
  return v;
}

export class IisLogAnalyzer {
  private readonly sessions = new Map<string, SessionState>();
  private readonly accounts = new Map<string, AccountStats>();
  private readonly failed = new Map<string, FailedAddress>();
  private readonly successIps = new Set<string>();
  private readonly anon = { sessions: 0, addresses: new Set<string>(), downloads: 0, uploads: 0 };
  private readonly sites = new Set<string>();
  private first?: string;
  private last?: string;
  private hasBytes = false;
  files = 0;
  records = 0;
  malformed = 0;
  bytesRead = 0;

  constructor(private readonly options: AnalysisOptions = DEFAULT_ANALYSIS) {}

  /** Feed one record; `site` is the log's site (its FTPSVC folder) when the record has no s-sitename. */
  add(r: W3cRecord, site: string): void {
    this.records++;
    const when = `${r.date ?? ''} ${r.time ?? ''}`.trim();
    if (when) {
      if (!this.first || when < this.first) this.first = when;
      if (!this.last || when > this.last) this.last = when;
    }
    const siteName = r['s-sitename'] || site;
    this.sites.add(siteName);
    const ip = r['c-ip'] ?? '';
    const key = `${siteName}|${r['x-session'] || `${ip}:${r['c-port'] ?? ''}`}`;
    const method = (r['cs-method'] ?? '').toUpperCase();
    const arg = r['cs-uri-stem'] ?? '';
    const status = r['sc-status'] ?? '';
    let s = this.sessions.get(key);
    if (!s) {
      if (this.sessions.size >= MAX_OPEN_SESSIONS) this.foldOldest();
      s = { site: siteName, ip, port: r['s-port'] ?? '', tls: r['s-port'] === '990', downloads: 0, uploads: 0, down: new Map(), up: new Map(), active: 0, siteCommands: new Map(), failures: 0 };
      this.sessions.set(key, s);
    }
    if ('sc-bytes' in r || 'cs-bytes' in r) this.hasBytes = true;
    const day = r.date ?? '';
    switch (method) {
      case 'USER':
        s.userArg = arg;
        break;
      case 'AUTH':
        if (status === '234') s.tls = true;
        break;
      case 'PASS':
        if (LOGIN_OK.has(status)) {
          s.loginAt = when;
          // The account as logged (`DOMAIN\\user` for Windows accounts).
          s.account = (r['cs-username'] || s.userArg || '').trim();
        } else if (status === '530') {
          s.failures++;
          this.recordFailure(ip, s.userArg ?? r['cs-username'] ?? '', when);
        }
        break;
      case 'RETR':
        if (status === '226' || status === '250') {
          s.downloads++;
          add(s.down, day, Number(r['sc-bytes'] || 0));
        }
        break;
      case 'STOR':
      case 'APPE':
      case 'STOU':
        if (status === '226' || status === '250') {
          s.uploads++;
          add(s.up, day, Number(r['cs-bytes'] || 0));
        }
        break;
      case 'PORT':
      case 'EPRT':
        s.active++;
        break;
      case 'SITE':
        add(s.siteCommands, arg.split(/\s+/)[0]!.toUpperCase() || '(empty)', 1);
        break;
      case 'CONTROLCHANNELCLOSED':
        this.fold(key, s);
        break;
    }
  }

  private recordFailure(ip: string, user: string, when: string): void {
    const f = this.failed.get(ip) ?? { address: ip, failures: 0, users: [], first: when, last: when, alsoSucceeded: false };
    f.failures++;
    if (user && !f.users.includes(user) && f.users.length < 50) f.users.push(user);
    if (when < f.first) f.first = when;
    if (when > f.last) f.last = when;
    this.failed.set(ip, f);
  }

  private foldOldest(): void {
    const [key, s] = this.sessions.entries().next().value as [string, SessionState];
    this.fold(key, s);
  }

  private fold(key: string, s: SessionState): void {
    this.sessions.delete(key);
    if (!s.loginAt) return;
    this.successIps.add(s.ip);
    if (ANONYMOUS.has((s.userArg ?? '').toLowerCase()) || ANONYMOUS.has((s.account ?? '').toLowerCase())) {
      this.anon.sessions++;
      if (this.anon.addresses.size < 1000) this.anon.addresses.add(s.ip);
      this.anon.downloads += s.downloads;
      this.anon.uploads += s.uploads;
      return;
    }
    const name = s.account || s.userArg || '(unknown)';
    const a = this.accounts.get(name.toLowerCase()) ?? {
      name,
      sessions: 0,
      firstLogin: s.loginAt,
      lastLogin: s.loginAt,
      cleartextSessions: 0,
      tlsSessions: 0,
      addresses: {},
      networks: {},
      failedLogins: 0,
      downloads: 0,
      uploads: 0,
      bytesPerDay: {},
      activeModeCommands: 0,
      siteCommands: {},
      sites: [],
    };
    a.sessions++;
    if (s.loginAt < a.firstLogin) a.firstLogin = s.loginAt;
    if (s.loginAt > a.lastLogin) a.lastLogin = s.loginAt;
    if (s.tls) a.tlsSessions++;
    else a.cleartextSessions++;
    if (Object.keys(a.addresses).length < 200 || s.ip in a.addresses) a.addresses[s.ip] = (a.addresses[s.ip] ?? 0) + 1;
    const netw = networkOf(s.ip);
    a.networks[netw] = (a.networks[netw] ?? 0) + 1;
    a.failedLogins += s.failures;
    a.downloads += s.downloads;
    a.uploads += s.uploads;
    for (const [d, n] of s.down) (a.bytesPerDay[d] ??= { down: 0, up: 0 }).down += n;
    for (const [d, n] of s.up) (a.bytesPerDay[d] ??= { down: 0, up: 0 }).up += n;
    a.activeModeCommands += s.active;
    for (const [c, n] of s.siteCommands) a.siteCommands[c] = (a.siteCommands[c] ?? 0) + n;
    if (!a.sites.includes(s.site)) a.sites.push(s.site);
    this.accounts.set(name.toLowerCase(), a);
  }

  finish(): LogAnalysis {
    for (const [key, s] of [...this.sessions]) this.fold(key, s);
    const accounts = [...this.accounts.values()].sort((x, y) => (x.lastLogin < y.lastLogin ? 1 : x.lastLogin > y.lastLogin ? -1 : x.name.localeCompare(y.name)));
    const failedAddresses = [...this.failed.values()]
      .map((f) => ({ ...f, alsoSucceeded: this.successIps.has(f.address) }))
      .sort((x, y) => y.failures - x.failures || x.address.localeCompare(y.address));
    const rotate = accounts.filter((a) => a.cleartextSessions > 0).map((a) => a.name);
    const allowLists = accounts
      .filter((a) => Object.keys(a.networks).length <= this.options.maxAllowNetworks)
      .map((a) => ({ account: a.name, networks: Object.keys(a.networks).sort() }));
    const bans = failedAddresses.filter((f) => f.failures >= this.options.banThreshold && !f.alsoSucceeded).map((f) => f.address);
    const anonymous = { sessions: this.anon.sessions, addresses: [...this.anon.addresses].sort(), downloads: this.anon.downloads, uploads: this.anon.uploads };
    const analysis: LogAnalysis = {
      files: this.files,
      records: this.records,
      malformedLines: this.malformed,
      bytesRead: this.bytesRead,
      ...(this.first ? { firstSeen: this.first } : {}),
      ...(this.last ? { lastSeen: this.last } : {}),
      sites: [...this.sites].sort(),
      hasByteCounts: this.hasBytes,
      accounts,
      anonymous,
      failedAddresses,
      proposals: { rotate, allowLists, bans },
      summary: [],
    };
    analysis.summary = summarize(analysis, this.options);
    return analysis;
  }
}

function add(m: Map<string, number>, k: string, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The plan in plain words, most urgent first. */
export function summarize(a: LogAnalysis, o: AnalysisOptions): string[] {
  const out: string[] = [];
  const period = a.firstSeen && a.lastSeen ? ` between ${a.firstSeen} and ${a.lastSeen} UTC` : '';
  out.push(`${plural(a.accounts.length, 'account is', 'accounts are')} active${period} (${plural(a.files, 'log file')}, ${plural(a.records, 'record')}${a.malformedLines ? `, ${plural(a.malformedLines, 'malformed line')} skipped` : ''}).`);
  if (a.proposals.rotate.length) {
    out.push(`${plural(a.proposals.rotate.length, 'account')} logged in without TLS at least once, so their passwords crossed the network in clear: rotate them (${a.proposals.rotate.slice(0, 10).join(', ')}${a.proposals.rotate.length > 10 ? ', …' : ''}).`);
  }
  const never = a.accounts.filter((x) => x.tlsSessions === 0).length;
  if (never) out.push(`${plural(never, 'account')} never used TLS at all: ${never === a.accounts.length ? 'no one' : 'they'} will need FTPS settings or SFTP in their clients.`);
  if (a.anonymous.sessions) {
    out.push(`Anonymous login was used in ${plural(a.anonymous.sessions, 'session')} from ${plural(a.anonymous.addresses.length, 'address', 'addresses')} (${a.anonymous.downloads} downloads, ${a.anonymous.uploads} uploads): Portcullis has no anonymous access; give these people accounts or a public share elsewhere.`);
  }
  if (a.proposals.allowLists.length) {
    out.push(`${plural(a.proposals.allowLists.length, 'account')} always came from at most ${o.maxAllowNetworks} networks: their allow-lists can start from those (user set NAME --allow-from …).`);
  }
  if (a.proposals.bans.length) {
    out.push(`${plural(a.proposals.bans.length, 'address', 'addresses')} failed to log in ${o.banThreshold} times or more and never succeeded: proposed bans (${a.proposals.bans.slice(0, 10).join(', ')}${a.proposals.bans.length > 10 ? ', …' : ''}).`);
  }
  const active = a.accounts.filter((x) => x.activeModeCommands > 0).map((x) => x.name);
  if (active.length) out.push(`${plural(active.length, 'account')} used active mode (PORT/EPRT): Portcullis serves passive mode only; check those clients (${active.slice(0, 10).join(', ')}).`);
  const site = a.accounts.filter((x) => Object.keys(x.siteCommands).length > 0).map((x) => `${x.name} (${Object.keys(x.siteCommands).join(', ')})`);
  if (site.length) out.push(`${plural(site.length, 'account')} sent SITE commands, which Portcullis does not run: ${site.slice(0, 10).join(', ')}.`);
  return out;
}
