// From what IIS says (iis-config.ts) and, optionally, what its logs show (iis-log-analysis.ts)
// to an import plan: a Portcullis configuration, the users to create (home, read-only or
// read-write, per-user address rules), global allow/deny rules, defender settings, and what
// could not be imported and why. Pure: nothing is touched here (iis-apply.ts does that).
import { LIMITS } from '../config/limits.ts';
import { parseCidr } from '../policy/ip-matcher.ts';
import { ALL_PERMISSIONS, READ_ONLY_PERMISSIONS, type Permission } from '../session/permissions.ts';
import type { AuthorizationRule, IisConfig, IisSite, IpEntry, IsolationMode } from './iis-config.ts';
import type { LogAnalysis } from './iis-log-analysis.ts';

export type Access = 'read-write' | 'read-only' | 'write-only';

export const ACCESS_PERMISSIONS: Record<Access, readonly Permission[]> = {
  'read-write': ALL_PERMISSIONS,
  'read-only': READ_ONLY_PERMISSIONS,
  // IIS Write without Read: upload, delete, rename and create folders, but neither list nor download (a drop box).
  'write-only': ['upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir'],
};

export interface PlannedUser {
  /** The Portcullis name (lower case, domain removed). */
  name: string;
  /** The names IIS knew the account by (rules, IIS Manager, logs). */
  iisNames: string[];
  sources: ('rule' | 'iis-manager' | 'logs')[];
  access: Access;
  /** A home shared by every user of the site (isolation None or StartInUsersDirectory), else null: the user's own. */
  sharedHome: string | null;
  /** Where IIS put the user, for the operator copying files across. */
  iisHome: string;
  /** Networks the account always came from (from the logs): a starting allow-list. */
  allowFrom: string[];
  lastLogin: string | null;
  /** Things to check by hand for this user. */
  review: string[];
}

export interface NotImported {
  what: string;
  why: string;
  action: string;
}

export interface ImportPlan {
  schemaVersion: 1;
  generatedAt: string;
  source: { config: string; adminConfig: string | null; logs: string | null };
  site: {
    name: string;
    id: string;
    bindings: string[];
    isolation: IsolationMode;
    physicalPath: string;
    otherSites: string[];
    ssl: { controlChannelPolicy: string; dataChannelPolicy: string; implicit: boolean };
    anonymous: boolean;
    authentication: string[];
    logonAttemptRestrictions: 'off' | 'logging-only' | 'on';
    allowUnlisted: boolean;
  };
  /** The Portcullis configuration (what `portcullis.yaml` holds). */
  config: Record<string, unknown>;
  users: PlannedUser[];
  skippedUsers: { name: string; reason: string }[];
  access: { allowListMode: boolean; allow: string[]; deny: string[] };
  defender: { enabled: boolean; threshold: number; observationMinutes: number } | null;
  /** Security verdicts on the old server (was anything encrypted, anonymous access, …). */
  findings: string[];
  notImported: NotImported[];
  summary: string[];
}

export interface PlanInput {
  config: IisConfig;
  site: IisSite;
  source: ImportPlan['source'];
  logs?: LogAnalysis | undefined;
  now?: Date;
}

const ANONYMOUS_NAMES = new Set(['anonymous', 'ftp', 'iusr']);
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** "FILES01\\Alice" → "alice"; "alice@corp.example" → "alice". */
export function portcullisName(iisName: string): string {
  return (iisName.split('\\').pop() ?? '').split('@')[0]!.trim().toLowerCase();
}

const domainOf = (iisName: string): string => (iisName.includes('\\') ? iisName.split('\\')[0]! : '');

/** Dotted or numeric subnet masks to a CIDR; null when IIS's entry cannot be one. */
export function ipEntryCidr(e: IpEntry): string | null {
  if (!e.ipAddress) return null;
  const v6 = e.ipAddress.includes(':');
  let prefix: number;
  if (!e.subnetMask) prefix = v6 ? 128 : 32;
  else if (/^\d{1,3}$/.test(e.subnetMask)) prefix = Number(e.subnetMask);
  else {
    const parts = e.subnetMask.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
    const bits = parts.map((p) => p.toString(2).padStart(8, '0')).join('');
    if (!/^1*0*$/.test(bits)) return null; // a non-contiguous mask has no CIDR
    prefix = bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
  }
  const cidr = `${e.ipAddress}/${prefix}`;
  try {
    parseCidr(cidr);
    return cidr;
  } catch {
    return null;
  }
}

interface Grant {
  read: boolean;
  write: boolean;
  /** Roles whose Allow rules would grant more if the user is a member. */
  allowRoles: string[];
  /** Roles whose Deny rules would take something away if the user is a member. */
  denyRoles: string[];
}

/** What the rules give one account: Allow rules add, Deny rules (which win) take away. */
export function grantFor(rules: readonly AuthorizationRule[], names: readonly string[]): Grant {
  const lower = names.map((n) => n.toLowerCase());
  const matches = (r: AuthorizationRule): boolean => r.users.includes('*') || r.users.some((u) => lower.includes(u) || lower.includes(portcullisName(u)));
  const g: Grant = { read: false, write: false, allowRoles: [], denyRoles: [] };
  for (const r of rules.filter((x) => x.accessType === 'Allow')) {
    if (matches(r)) {
      g.read ||= r.read;
      g.write ||= r.write;
    }
    if (r.roles.length) g.allowRoles.push(...r.roles);
  }
  for (const r of rules.filter((x) => x.accessType === 'Deny')) {
    if (matches(r)) {
      if (r.read) g.read = false;
      if (r.write) g.write = false;
    }
    if (r.roles.length) g.denyRoles.push(...r.roles);
  }
  g.allowRoles = [...new Set(g.allowRoles)];
  g.denyRoles = [...new Set(g.denyRoles)];
  return g;
}

const accessOf = (g: { read: boolean; write: boolean }): Access | null => (g.read && g.write ? 'read-write' : g.read ? 'read-only' : g.write ? 'write-only' : null);
const permText = (g: { read: boolean; write: boolean }): string => [g.read && 'Read', g.write && 'Write'].filter(Boolean).join(', ') || 'nothing';

const SHARED_MODES: ReadonlySet<IsolationMode> = new Set(['None', 'StartInUsersDirectory']);

function iisHomeOf(site: IisSite, iisName: string, source: PlannedUser['sources'][number]): string {
  const root = site.physicalPath || '(site root)';
  const name = iisName.split('\\').pop() ?? iisName;
  const domain = domainOf(iisName) || (source === 'iis-manager' ? '' : site.basic.defaultLogonDomain);
  switch (site.isolation) {
    case 'None':
      return root;
    case 'StartInUsersDirectory':
      return `${root}\\${name} (if it exists, else ${root}; users can move up)`;
    case 'IsolateRootDirectoryOnly':
    case 'IsolateAllDirectories':
      return `${root}\\${domain ? domain : 'LocalUser'}\\${name}`;
    case 'ActiveDirectory':
      return '(the msIIS-FTPRoot and msIIS-FTPDir attributes of the AD account)';
    case 'Custom':
      return '(decided by a custom home-directory provider)';
  }
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'site';
}

export function buildImportPlan(input: PlanInput): ImportPlan {
  const { site, config, logs } = input;
  const notImported: NotImported[] = [];
  const findings: string[] = [];
  const root = site.paths[0]!;
  const ruleNames = new Set<string>();
  for (const p of site.paths) for (const r of p.authorization) for (const u of r.users) if (u !== '*' && u !== '?') ruleNames.add(u);

  // --- who: named in rules, IIS Manager users (when the site uses them), accounts from the logs
  const candidates = new Map<string, { iisNames: Set<string>; sources: Set<PlannedUser['sources'][number]> }>();
  const addCandidate = (iisName: string, source: PlannedUser['sources'][number]): void => {
    const name = portcullisName(iisName);
    if (!name || ANONYMOUS_NAMES.has(name)) return;
    const c = candidates.get(name) ?? { iisNames: new Set(), sources: new Set() };
    c.iisNames.add(iisName);
    c.sources.add(source);
    candidates.set(name, c);
  };
  for (const n of ruleNames) addCandidate(n, 'rule');
  const usesManager = site.customProviders.some((p) => p.toLowerCase() === 'iismanagerauth');
  if (usesManager) for (const u of config.managerUsers.filter((x) => x.enabled)) addCandidate(u.name, 'iis-manager');
  const logAccount = new Map<string, LogAnalysis['accounts'][number]>();
  for (const a of logs?.accounts ?? []) {
    addCandidate(a.name, 'logs');
    const n = portcullisName(a.name);
    const prev = logAccount.get(n);
    if (!prev || a.lastLogin > prev.lastLogin) logAccount.set(n, a);
  }
  const allowLists = new Map((logs?.proposals.allowLists ?? []).map((p) => [portcullisName(p.account), p.networks]));

  const sharedHome = SHARED_MODES.has(site.isolation) ? slug(site.name) : null;
  const users: PlannedUser[] = [];
  const skippedUsers: ImportPlan['skippedUsers'] = [];
  for (const [name, c] of [...candidates].sort(([a], [b]) => a.localeCompare(b))) {
    const iisNames = [...c.iisNames].sort();
    if (name.length > LIMITS.maxUserNameLength || !NAME.test(name)) {
      skippedUsers.push({ name: iisNames.join(', '), reason: `"${name}" is not a valid Portcullis user name (letters, digits, dot, dash, underscore): add the account by hand under another name` });
      continue;
    }
    const review: string[] = [];
    // FILES01\alice and CORP\alice are two Windows accounts that would become one Portcullis user.
    const domains = new Set(iisNames.map((n) => (domainOf(n) || site.basic.defaultLogonDomain).toLowerCase()));
    if (domains.size > 1) review.push(`several IIS accounts become "${name}" (${iisNames.join(', ')}): their permissions were combined; split them by hand if they are different people`);
    const g = grantFor(root.authorization, iisNames);
    let access = accessOf(g);
    const explicitlyNamed = c.sources.has('rule');
    if (!access && !explicitlyNamed && g.allowRoles.length && c.sources.has('logs')) {
      // It logged in, so some rule let it in: most likely a role (a Windows group) we cannot expand.
      const roleRules = root.authorization.filter((r) => r.accessType === 'Allow' && r.roles.length);
      const least = roleRules.every((r) => r.write) && roleRules.every((r) => !r.read) ? 'write-only' : 'read-only';
      access = least;
      review.push(`logged in through a role (${g.allowRoles.join(', ')}) whose members are not in the configuration: planned ${least}; check the group membership`);
    }
    if (!access) {
      skippedUsers.push({ name: iisNames.join(', '), reason: `the authorization rules at the site root give this account no access${g.allowRoles.length ? ` (unless it belongs to role ${g.allowRoles.join(', ')})` : ''}` });
      continue;
    }
    if (g.denyRoles.length) review.push(`Deny rules for role(s) ${g.denyRoles.join(', ')} would take access away if the account is a member: check`);
    for (const p of site.paths.slice(1)) {
      const sub = grantFor(p.authorization, iisNames);
      if (sub.read !== g.read || sub.write !== g.write) {
        review.push(`IIS gave ${permText(sub)} in ${p.path} (site root: ${permText(g)}); Portcullis applies one permission set per user: planned ${access} everywhere${(sub.read && !g.read) || (sub.write && !g.write) ? '' : ' (broader than IIS there)'}`);
      }
    }
    if (sharedHome) review.push(`isolation ${site.isolation}: users of this site shared one tree; planned the shared home "${sharedHome}"`);
    if (site.isolation === 'ActiveDirectory') review.push('home came from Active Directory attributes (msIIS-FTPRoot, msIIS-FTPDir): copy the files from there');
    const la = logAccount.get(name);
    const source = c.sources.has('iis-manager') ? 'iis-manager' : c.sources.has('rule') ? 'rule' : 'logs';
    users.push({
      name,
      iisNames,
      sources: [...c.sources].sort(),
      access,
      sharedHome,
      iisHome: iisHomeOf(site, iisNames.find((n) => n.includes('\\')) ?? iisNames[0]!, source),
      allowFrom: allowLists.get(name) ?? [],
      lastLogin: la?.lastLogin ?? null,
      review,
    });
  }

  // --- roles: no groups in the Portcullis model
  const roles = new Map<string, Set<string>>();
  for (const p of site.paths) for (const r of p.authorization) for (const role of r.roles) (roles.get(role) ?? roles.set(role, new Set()).get(role)!).add(`${r.accessType} ${permText(r)}`);
  for (const role of [...roles.keys()].sort().map((k) => `${k} (${[...roles.get(k)!].join('; ')})`)) {
    notImported.push({ what: `role ${role}`, why: 'roles are Windows or IIS groups; their members are not in applicationHost.config and Portcullis has no groups', action: logs ? 'accounts that logged in are in the plan; add members that did not by hand' : 'give --logs so accounts that logged in are planned, or add the members by hand' });
  }
  if (root.authorization.some((r) => r.accessType === 'Allow' && r.users.includes('*'))) {
    notImported.push({ what: 'Allow rule for all users (*)', why: 'every Windows account of the server could log in; the accounts are not listed anywhere in the configuration', action: logs ? 'accounts seen in the logs are planned' : 'give --logs to plan the accounts that really logged in' });
  }
  if (site.basic.enabled) {
    notImported.push({ what: 'Windows passwords (basic authentication)', why: 'passwords of Windows and domain accounts never leave Windows', action: 'each user gets a one-time enrolment invitation and sets a new password (and MFA) on first use' });
  }
  if (usesManager) {
    notImported.push({ what: 'IIS Manager user passwords', why: 'administration.config keeps only hashes tied to the IIS machine keys', action: 'each user gets a one-time enrolment invitation' });
    if (!config.managerUsers.length) notImported.push({ what: 'IIS Manager users', why: 'the site uses IisManagerAuth but no administration.config was given', action: 'run again with --admin-config administration.config' });
  }
  for (const p of site.customProviders.filter((x) => x.toLowerCase() !== 'iismanagerauth')) {
    notImported.push({ what: `custom authentication provider ${p}`, why: 'a .NET provider (SQL table, membership database) that only runs inside IIS', action: 'export its user list and add the users by hand' });
  }
  if (site.anonymous.enabled) {
    findings.push(`Anonymous login is enabled (as ${site.anonymous.userName}): anyone could connect. Portcullis has no anonymous access.`);
    notImported.push({ what: 'anonymous authentication', why: 'Portcullis always authenticates', action: logs?.anonymous.sessions ? `anonymous was used in ${logs.anonymous.sessions} sessions: give those people accounts` : 'give the people who used it accounts' });
  }
  if (site.isolation === 'Custom') notImported.push({ what: 'user isolation mode Custom', why: 'homes came from a custom provider', action: 'set each home by hand (portcullis user add --home)' });
  if (site.isolation === 'IsolateRootDirectoryOnly') findings.push('Isolation IsolateRootDirectoryOnly let users see global virtual directories: Portcullis jails every user in their home.');

  // --- virtual directories
  for (const v of site.virtualDirectories.filter((x) => x.path !== '/')) {
    const unc = v.physicalPath.startsWith('\\\\');
    notImported.push({
      what: `virtual directory ${v.path} → ${v.physicalPath}`,
      why: unc && (v.userName || v.hasPassword) ? `a UNC share reached with stored credentials (${v.userName || 'an account'}, password encrypted with the IIS machine keys)` : 'Portcullis serves one folder per user, without virtual directories',
      action: unc ? 'mount the share on the new host (read-only where IIS only read) and point the users\' homes or a symlink at it' : 'move the folder into the homes that need it',
    });
  }
  if (site.unreadSections.length) for (const s of site.unreadSections) notImported.push({ what: `section ${s}`, why: 'not read by the importer', action: 'check it by hand' });

  // --- network access: global rules, per-path rules
  const allow: string[] = [];
  const deny: string[] = [];
  for (const e of root.ipSecurity.entries) {
    if (e.domainName) {
      notImported.push({ what: `domain rule ${e.allowed ? 'allow' : 'deny'} ${e.domainName}`, why: 'rules by reverse DNS name can be forged by whoever controls the reverse zone; Portcullis matches addresses only', action: 'replace it with the addresses or networks it stands for' });
      continue;
    }
    const cidr = ipEntryCidr(e);
    if (!cidr) {
      notImported.push({ what: `address rule ${e.ipAddress}/${e.subnetMask}`, why: 'not an address with a contiguous subnet mask', action: 'write the rule as a CIDR by hand' });
      continue;
    }
    (e.allowed ? allow : deny).push(cidr);
  }
  const allowListMode = !root.ipSecurity.allowUnlisted;
  if (allowListMode && allow.length === 0) findings.push('IIS refused every unlisted address but listed none as allowed (or only by domain name): the planned allow-list is empty, so nobody could connect. Add the partners\' networks before cut-over.');
  for (const p of site.paths.slice(1)) {
    if (JSON.stringify(p.ipSecurity) !== JSON.stringify(root.ipSecurity)) notImported.push({ what: `address rules for ${p.path}`, why: 'Portcullis applies address rules per server and per user, not per folder', action: 'move the users of that folder into per-user allow-lists (portcullis user set NAME --allow-from …)' });
  }
  if (root.ipSecurity.enableReverseDns) findings.push('Reverse DNS lookups were enabled for address rules: each login waited on DNS.');

  // --- defender
  const d = site.denyByFailure;
  const defender = d.enabled ? { enabled: true, threshold: Math.min(10_000, Math.max(1, d.maxFailure)), observationMinutes: Math.max(1, Math.ceil(d.entryExpirationSeconds / 60)) } : null;
  if (!d.enabled) findings.push('FTP Logon Attempt Restrictions were off: IIS never blocked password guessing. Portcullis keeps its defender on (defaults).');
  else if (d.loggingOnlyMode) findings.push(`FTP Logon Attempt Restrictions were in logging-only mode: IIS never blocked anything. The defender will ban after ${defender!.threshold} failures within ${defender!.observationMinutes} minutes.`);

  // --- TLS
  const ctl = site.ssl.controlChannelPolicy;
  const data = site.ssl.dataChannelPolicy;
  const implicit = site.bindings.some((b) => b.protocol === 'ftp' && b.port === 990);
  if (ctl === 'SslAllow') findings.push('Control channel TLS was optional (SslAllow): clients could send passwords in clear. Portcullis requires TLS before login.');
  if (data === 'SslAllow' || data === 'SslDeny') findings.push(`Data channel TLS was ${data === 'SslDeny' ? 'refused (SslDeny): every file crossed in clear' : 'optional (SslAllow): files could cross in clear'}. Portcullis requires protected data connections.`);
  if (ctl === 'SslRequireCredentialsOnly') findings.push('TLS protected only the login (SslRequireCredentialsOnly): commands and file names after it crossed in clear.');
  if (logs) {
    if (logs.proposals.rotate.length) findings.push(`${logs.proposals.rotate.length} accounts logged in without TLS (per the logs): their passwords crossed the network in clear.`);
  }
  if (site.ssl.serverCertHash) {
    notImported.push({ what: `server certificate (thumbprint ${site.ssl.serverCertHash.slice(0, 16)}…, store ${site.ssl.serverCertStoreName})`, why: 'the private key is in the Windows certificate store', action: 'export it as PFX, convert it (openssl pkcs12 -in cert.pfx -nodes) and set tls.certFile and tls.keyFile, or let Portcullis use a new certificate and tell partners its fingerprint' });
  }
  if (site.ssl.clientCertificates) notImported.push({ what: 'client certificate policy', why: 'IIS mapped client certificates to Windows accounts', action: 'pin each partner\'s certificate with portcullis user cert add (see docs/mfa.md)' });

  // --- messages and limits
  if (site.messages.banner || site.messages.greetingMessage || site.messages.exitMessage) {
    notImported.push({ what: 'banner, greeting and exit messages', why: 'Portcullis sends a fixed banner without product or version strings', action: 'tell partners about the move another way' });
  }

  // --- the configuration file
  const ftpPorts = site.bindings.filter((b) => b.protocol === 'ftp').map((b) => b.port);
  const explicitPort = ftpPorts.find((p) => p !== 990);
  const ftps: Record<string, unknown> = { port: explicitPort ?? 21, implicitPort: implicit ? 990 : null };
  const { low, high } = site.passivePorts;
  if (low && high) {
    if (low >= 1024 && high <= 65535 && low <= high) ftps.passivePorts = `${low}-${high}`;
    else notImported.push({ what: `passive port range ${low}-${high}`, why: 'Portcullis takes a range within 1024-65535', action: 'open a range above 1024 in the firewall (ftps.passivePorts)' });
  } else findings.push('No passive port range was set in IIS (it used any port above 1024): the firewall can now open only ftps.passivePorts (default 50000-50100).');
  if (site.externalIp4Address) ftps.passiveAddress = site.externalIp4Address;
  const out: Record<string, unknown> = { ftps };
  if (allowListMode || allow.length || deny.length) out.access = { allowListMode, ...(allow.length ? { allow } : {}), ...(deny.length ? { deny } : {}) };
  if (defender) out.defender = { enabled: true, threshold: defender.threshold, observationMinutes: defender.observationMinutes };
  const limits: Record<string, number> = {};
  const mc = site.connections.maxConnections;
  if (mc !== null && mc > 0 && mc < 4_294_967_295) limits.maxConnections = Math.min(LIMITS.maxConnections.ceiling, mc);
  const idle = site.connections.controlChannelTimeoutSeconds;
  if (idle !== null && idle > 0) limits.idleTimeoutMs = Math.min(LIMITS.idleTimeoutMs.ceiling, Math.max(LIMITS.idleTimeoutMs.min, idle * 1000));
  if (Object.keys(limits).length) out.limits = limits;

  const plan: ImportPlan = {
    schemaVersion: 1,
    generatedAt: (input.now ?? new Date()).toISOString(),
    source: input.source,
    site: {
      name: site.name,
      id: site.id,
      bindings: site.bindings.map((b) => `${b.protocol} ${b.address}:${b.port}${b.host ? ` (${b.host})` : ''}`),
      isolation: site.isolation,
      physicalPath: site.physicalPath,
      otherSites: config.sites.filter((s) => s !== site).map((s) => s.name),
      ssl: { controlChannelPolicy: ctl, dataChannelPolicy: data, implicit },
      anonymous: site.anonymous.enabled,
      authentication: [site.anonymous.enabled && 'anonymous', site.basic.enabled && 'basic (Windows accounts)', ...site.customProviders.map((p) => (p.toLowerCase() === 'iismanagerauth' ? 'IIS Manager users' : `custom provider ${p}`))].filter((x): x is string => Boolean(x)),
      logonAttemptRestrictions: !d.enabled ? 'off' : d.loggingOnlyMode ? 'logging-only' : 'on',
      allowUnlisted: root.ipSecurity.allowUnlisted,
    },
    config: out,
    users,
    skippedUsers,
    access: { allowListMode, allow, deny },
    defender,
    findings,
    notImported,
    summary: [],
  };
  plan.summary = summarizePlan(plan);
  return plan;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function summarizePlan(p: ImportPlan): string[] {
  const by = (a: Access): number => p.users.filter((u) => u.access === a).length;
  const out = [
    `Site "${p.site.name}" (${p.site.bindings.join(', ')}), isolation ${p.site.isolation}: ${plural(p.users.length, 'user')} to import (${by('read-write')} read-write, ${by('read-only')} read-only${by('write-only') ? `, ${by('write-only')} write-only` : ''}), ${plural(p.skippedUsers.length, 'account')} not imported.`,
    'Users are created without passwords: each gets a one-time invitation to set a password (and MFA) on first use.',
  ];
  const rev = p.users.filter((u) => u.review.length).length;
  if (rev) out.push(`${plural(rev, 'user')} to review by hand (per-folder rules, roles, shared trees).`);
  if (p.access.allowListMode) out.push(`Only listed addresses may connect: ${plural(p.access.allow.length, 'allowed network')}, ${plural(p.access.deny.length, 'denied network')}.`);
  else if (p.access.deny.length) out.push(`${plural(p.access.deny.length, 'denied network')}.`);
  out.push(p.defender ? `Failed logins: ban after ${p.defender.threshold} within ${p.defender.observationMinutes} minutes (from IIS's logon attempt restrictions).` : 'Failed logins: the Portcullis defender defaults (IIS had no logon attempt restrictions).');
  if (p.findings.length) out.push(`${plural(p.findings.length, 'finding')} about the old server, ${plural(p.notImported.length, 'item')} not imported (see below).`);
  return out;
}
