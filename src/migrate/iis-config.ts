// What an IIS FTP configuration says, read as it is (no judgement here: iis-plan.ts decides
// what Portcullis can take over). Sources: the site's <ftpServer> (over <siteDefaults>), the
// server-wide <system.ftpServer>, and <location path="Site[/dir]"> sections; IIS Manager users
// from administration.config. See ../../../shared/IIS-MIGRATION.md and docs/migrate-from-iis.md.
import { PortcullisError } from '../errors/index.ts';
import { child, findAll, path, type XmlElement } from './iis-xml.ts';

export const ISOLATION_MODES = ['None', 'StartInUsersDirectory', 'IsolateRootDirectoryOnly', 'IsolateAllDirectories', 'ActiveDirectory', 'Custom'] as const;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

export interface IisBinding {
  protocol: string;
  address: string;
  port: number;
  host: string;
}

export interface IisVirtualDirectory {
  /** Virtual path, '/' for the site root. */
  path: string;
  physicalPath: string;
  /** The account IIS connects to a UNC share with (its password is stored encrypted). */
  userName: string;
  hasPassword: boolean;
}

export interface AuthorizationRule {
  accessType: 'Allow' | 'Deny';
  /** Lower-cased names as written ('*' all users, '?' anonymous, 'domain\\name'). */
  users: string[];
  roles: string[];
  read: boolean;
  write: boolean;
}

export interface IpEntry {
  ipAddress: string;
  subnetMask: string;
  domainName: string;
  allowed: boolean;
}

export interface IpSecurity {
  allowUnlisted: boolean;
  enableReverseDns: boolean;
  entries: IpEntry[];
}

/** The effective rules at one path of the site: '' is the site root, '/dir' a folder below it. */
export interface PathRules {
  path: string;
  authorization: AuthorizationRule[];
  ipSecurity: IpSecurity;
}

export interface DenyByFailure {
  enabled: boolean;
  maxFailure: number;
  entryExpirationSeconds: number;
  loggingOnlyMode: boolean;
}

export interface IisSite {
  name: string;
  id: string;
  physicalPath: string;
  bindings: IisBinding[];
  virtualDirectories: IisVirtualDirectory[];
  anonymous: { enabled: boolean; userName: string };
  basic: { enabled: boolean; defaultLogonDomain: string };
  /** Custom authentication providers enabled for the site (IisManagerAuth = IIS Manager users). */
  customProviders: string[];
  isolation: IsolationMode;
  ssl: { controlChannelPolicy: string; dataChannelPolicy: string; serverCertHash: string; serverCertStoreName: string; clientCertificates: boolean };
  externalIp4Address: string;
  messages: { banner: string; greetingMessage: string; exitMessage: string; maxClientsMessage: string; suppressDefaultBanner: boolean };
  connections: { maxConnections: number | null; controlChannelTimeoutSeconds: number | null };
  logDirectory: string;
  /** Root first, then each folder with its own <location>, shallowest first. */
  paths: PathRules[];
  denyByFailure: DenyByFailure;
  passivePorts: { low: number; high: number };
  /** Other sections found under the site's locations that the importer does not read. */
  unreadSections: string[];
}

export interface IisManagerUser {
  name: string;
  enabled: boolean;
}

export interface IisConfig {
  sites: IisSite[];
  managerUsers: IisManagerUser[];
}

const bool = (v: string | undefined, dflt: boolean): boolean => (v === undefined ? dflt : v.toLowerCase() === 'true');
const num = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);

/** IIS time spans ("00:00:30", "1.00:00:00") in seconds. */
export function parseTimeSpan(v: string | undefined): number | null {
  if (!v) return null;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$/.exec(v.trim());
  if (!m) return null;
  return Number(m[1] ?? 0) * 86_400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

/** Attributes of the element at `names` under the site's <ftpServer>, over <siteDefaults>. */
function merged(site: XmlElement, defaults: XmlElement | undefined, ...names: string[]): Record<string, string> {
  return { ...path(defaults, 'ftpServer', ...names)?.attrs, ...path(site, 'ftpServer', ...names)?.attrs };
}

function parseBinding(b: XmlElement): IisBinding {
  const info = b.attrs.bindingInformation ?? '';
  // "address:port:host", the address possibly "[::1]"
  const hostAt = info.lastIndexOf(':');
  const portAt = info.lastIndexOf(':', hostAt - 1);
  return { protocol: (b.attrs.protocol ?? '').toLowerCase(), address: info.slice(0, Math.max(0, portAt)) || '*', port: Number(info.slice(portAt + 1, hostAt)) || 0, host: info.slice(hostAt + 1) };
}

/** Applies one level of an IIS collection (<clear/>, <remove/>, <add/>) onto the inherited one. */
function applyCollection<T>(inherited: T[], e: XmlElement | undefined, parse: (a: XmlElement) => T, key: (x: T) => string): T[] {
  if (!e) return inherited;
  let out = [...inherited];
  for (const c of e.children) {
    if (c.name === 'clear') out = [];
    else if (c.name === 'remove') {
      const k = key(parse(c));
      out = out.filter((x) => key(x) !== k);
    } else if (c.name === 'add') out.push(parse(c));
  }
  return out;
}

function parseRule(e: XmlElement): AuthorizationRule {
  const perms = list(e.attrs.permissions);
  return { accessType: (e.attrs.accessType ?? '').toLowerCase() === 'deny' ? 'Deny' : 'Allow', users: list(e.attrs.users), roles: list(e.attrs.roles), read: perms.includes('read'), write: perms.includes('write') };
}
const ruleKey = (r: AuthorizationRule): string => `${r.accessType}|${r.users.join(',')}|${r.roles.join(',')}`;

function parseIpEntry(e: XmlElement): IpEntry {
  return { ipAddress: e.attrs.ipAddress ?? '', subnetMask: e.attrs.subnetMask ?? '', domainName: e.attrs.domainName ?? '', allowed: bool(e.attrs.allowed, false) };
}
const ipKey = (x: IpEntry): string => `${x.ipAddress}|${x.subnetMask}|${x.domainName.toLowerCase()}`;

/** One <system.ftpServer> level applied onto the rules inherited from above. */
function applyLevel(rules: Omit<PathRules, 'path'>, section: XmlElement | undefined): Omit<PathRules, 'path'> {
  if (!section) return rules;
  const ip = path(section, 'security', 'ipSecurity');
  return {
    authorization: applyCollection(rules.authorization, path(section, 'security', 'authorization'), parseRule, ruleKey),
    ipSecurity: {
      allowUnlisted: bool(ip?.attrs.allowUnlisted, rules.ipSecurity.allowUnlisted),
      enableReverseDns: bool(ip?.attrs.enableReverseDns, rules.ipSecurity.enableReverseDns),
      entries: applyCollection(rules.ipSecurity.entries, ip, parseIpEntry, ipKey),
    },
  };
}

const READ_SECTIONS = new Set(['security', 'firewallSupport']);

export function readIisConfig(root: XmlElement, admin?: XmlElement): IisConfig {
  const siteElements = findAll(root, 'site');
  const defaults = findAll(root, 'siteDefaults')[0];
  const globalFtp = child(root, 'system.ftpServer');
  const locations = findAll(root, 'location').map((l) => ({ path: (l.attrs.path ?? '').replace(/\\/g, '/').replace(/\/+$/, ''), ftp: child(l, 'system.ftpServer') }));
  const globalLocations = locations.filter((l) => l.path === '' || l.path === '.');
  const firewall = path(globalFtp, 'firewallSupport')?.attrs ?? {};
  const dbf = path(globalFtp, 'security', 'authentication', 'denyByFailure')?.attrs ?? {};
  const denyByFailure: DenyByFailure = {
    enabled: bool(dbf.enabled, false),
    maxFailure: num(dbf.maxFailure) ?? 4,
    entryExpirationSeconds: parseTimeSpan(dbf.entryExpiration) ?? 30,
    loggingOnlyMode: bool(dbf.loggingOnlyMode, false),
  };

  const sites: IisSite[] = [];
  for (const s of siteElements) {
    const bindings = (path(s, 'bindings')?.children ?? []).filter((b) => b.name === 'binding').map(parseBinding);
    if (!bindings.some((b) => b.protocol === 'ftp')) continue; // a web site
    const name = s.attrs.name ?? '';
    const vdirs: IisVirtualDirectory[] = [];
    for (const app of s.children.filter((c) => c.name === 'application')) {
      const appPath = (app.attrs.path ?? '/').replace(/\/+$/, '');
      for (const v of app.children.filter((c) => c.name === 'virtualDirectory')) {
        const vp = `${appPath}/${(v.attrs.path ?? '/').replace(/^\/+/, '')}`.replace(/\/+$/, '') || '/';
        vdirs.push({ path: vp, physicalPath: v.attrs.physicalPath ?? '', userName: v.attrs.userName ?? '', hasPassword: Boolean(v.attrs.password) });
      }
    }
    const auth = (n: string) => merged(s, defaults, 'security', 'authentication', n);
    const providers = [...(path(defaults, 'ftpServer', 'security', 'authentication', 'customAuthentication', 'providers')?.children ?? []), ...(path(s, 'ftpServer', 'security', 'authentication', 'customAuthentication', 'providers')?.children ?? [])]
      .filter((p) => p.name === 'add' && bool(p.attrs.enabled, true))
      .map((p) => p.attrs.name ?? '');
    const isolationMode = merged(s, defaults, 'userIsolation').mode ?? 'None';
    const ssl = merged(s, defaults, 'security', 'ssl');
    const messages = merged(s, defaults, 'messages');
    const connections = merged(s, defaults, 'connections');
    const prefix = name.toLowerCase();
    const siteLocations = locations.filter((l) => l.path.toLowerCase() === prefix || l.path.toLowerCase().startsWith(`${prefix}/`));
    const subPaths = [...new Set(siteLocations.map((l) => l.path.slice(name.length)))].filter(Boolean).sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
    const rulesAt = (sub: string): PathRules => {
      let r: Omit<PathRules, 'path'> = { authorization: [], ipSecurity: { allowUnlisted: true, enableReverseDns: false, entries: [] } };
      r = applyLevel(r, globalFtp);
      for (const g of globalLocations) r = applyLevel(r, g.ftp);
      // the site, then each folder on the way down to `sub`
      const parts = sub.split('/').filter(Boolean);
      for (let i = 0; i <= parts.length; i++) {
        const at = `${prefix}${i ? `/${parts.slice(0, i).join('/')}` : ''}`;
        for (const l of siteLocations.filter((x) => x.path.toLowerCase() === at.toLowerCase())) r = applyLevel(r, l.ftp);
      }
      return { path: sub, ...r };
    };
    const unread = new Set<string>();
    for (const l of siteLocations) for (const sec of l.ftp?.children ?? []) if (!READ_SECTIONS.has(sec.name)) unread.add(`${sec.name} at ${l.path}`);
    sites.push({
      name,
      id: s.attrs.id ?? '',
      physicalPath: vdirs.find((v) => v.path === '/')?.physicalPath ?? '',
      bindings,
      virtualDirectories: vdirs,
      anonymous: { enabled: bool(auth('anonymousAuthentication').enabled, false), userName: auth('anonymousAuthentication').userName ?? 'IUSR' },
      basic: { enabled: bool(auth('basicAuthentication').enabled, false), defaultLogonDomain: auth('basicAuthentication').defaultLogonDomain ?? '' },
      customProviders: [...new Set(providers.filter(Boolean))],
      isolation: (ISOLATION_MODES as readonly string[]).includes(isolationMode) ? (isolationMode as IsolationMode) : 'Custom',
      ssl: {
        controlChannelPolicy: ssl.controlChannelPolicy ?? 'SslRequire',
        dataChannelPolicy: ssl.dataChannelPolicy ?? 'SslRequire',
        serverCertHash: ssl.serverCertHash ?? '',
        serverCertStoreName: ssl.serverCertStoreName ?? 'MY',
        clientCertificates: Boolean(merged(s, defaults, 'security', 'sslClientCertificates').clientCertificatePolicy && merged(s, defaults, 'security', 'sslClientCertificates').clientCertificatePolicy !== 'CertIgnore'),
      },
      externalIp4Address: merged(s, defaults, 'firewallSupport').externalIp4Address ?? '',
      messages: {
        banner: messages.bannerMessage ?? '',
        greetingMessage: messages.greetingMessage ?? '',
        exitMessage: messages.exitMessage ?? '',
        maxClientsMessage: messages.maxClientsMessage ?? '',
        suppressDefaultBanner: bool(messages.suppressDefaultBanner, false),
      },
      connections: { maxConnections: num(connections.maxConnections), controlChannelTimeoutSeconds: num(connections.controlChannelTimeout) },
      logDirectory: merged(s, defaults, 'logFile').directory ?? '%SystemDrive%\\inetpub\\logs\\LogFiles',
      paths: [rulesAt(''), ...subPaths.map(rulesAt)],
      denyByFailure,
      passivePorts: { low: num(firewall.lowDataChannelPort) ?? 0, high: num(firewall.highDataChannelPort) ?? 0 },
      unreadSections: [...unread].sort(),
    });
  }
  const managerUsers = admin
    ? findAll(admin, 'credentials')
        .flatMap((c) => c.children.filter((x) => x.name === 'add'))
        .map((u) => ({ name: u.attrs.name ?? '', enabled: bool(u.attrs.enabled, true) }))
        .filter((u) => u.name)
    : [];
  return { sites, managerUsers };
}

/** The one site to import: the named one, or the only FTP site. */
export function chooseSite(config: IisConfig, name?: string): IisSite {
  const names = config.sites.map((s) => s.name);
  if (name !== undefined) {
    const site = config.sites.find((s) => s.name.toLowerCase() === name.toLowerCase());
    if (!site) throw new PortcullisError('ERR_MIGRATE_SITE', `no FTP site named "${name.slice(0, 80)}" (FTP sites: ${names.join(', ') || 'none'})`);
    return site;
  }
  if (config.sites.length === 1) return config.sites[0]!;
  throw new PortcullisError('ERR_MIGRATE_SITE', config.sites.length ? `${config.sites.length} FTP sites: choose one with --site (${names.join(', ')})` : 'no site with an ftp binding in this configuration');
}
