// `portcullis migrate report`: the before and after of a move off IIS FTP, for a manager or an
// auditor. Combines the import plan, the log analysis and (optionally) scans of the legacy
// endpoint and of the new server, laid out along the scanner's six mitigation layers.
import { readFileSync, statSync } from 'node:fs';
import { PortcullisError } from '../errors/index.ts';
import { BUNDLED_ADVISORIES, loadAdvisories } from '../scanner/advisories.ts';
import { errorMessage } from '../scanner/errors.ts';
import { withRunSink } from '../scanner/isolation.ts';
import { LIMITS as SCAN_LIMITS } from '../scanner/limits.ts';
import { escapeHtml } from '../scanner/report-html.ts';
import { scanAll } from '../scanner/scan.ts';
import { parseTarget } from '../scanner/target.ts';
import { LAYERS, severityRank, type Layer, type ScanReport } from '../scanner/types.ts';
import { DEFAULT_ANALYSIS, type LogAnalysis } from './iis-log-analysis.ts';
import { analyzeIisLogs, findLogFiles } from './iis-logs.ts';
import type { ImportPlan } from './iis-plan.ts';

export const REPORT_FORMATS = ['text', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface LayerComparison {
  layer: Layer;
  title: string;
  old: string[];
  new: string[];
  /** Failed scan checks on each side (title and severity), worst first. */
  oldFindings: string[];
  newFindings: string[];
}

export interface MigrationReport {
  schemaVersion: 1;
  generatedAt: string;
  site: string;
  summary: string[];
  layers: LayerComparison[];
  users: { name: string; access: string; lastLogin: string | null; clearText: boolean; review: number }[];
  openItems: string[];
  scans: { old: string | null; new: string | null };
}

const TITLES: Record<Layer, string> = {
  'secure-protocol': 'Protocols offered',
  encryption: 'Encryption of passwords and files',
  mfa: 'Second factor',
  'access-restriction': 'Who may connect and what they may do',
  monitoring: 'Logging, detection and response',
  patching: 'Software maintenance',
};

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (cause) {
    throw new PortcullisError('ERR_MIGRATE_INPUT', `${what} ${file}: ${(cause as Error).message}`, { cause });
  }
}

async function scan(url: string, timeoutSeconds: number): Promise<ScanReport> {
  const options = {
    allow: new Set<never>(),
    ca: [],
    timeoutMs: timeoutSeconds * 1000,
    targetTimeoutMs: SCAN_LIMITS.defaultTargetTimeoutSeconds * 1000,
    concurrency: 1,
    advisories: loadAdvisories(BUNDLED_ADVISORIES),
  };
  const stray: string[] = [];
  return withRunSink(
    (err) => stray.push(errorMessage(err)),
    () => scanAll([parseTarget(url)], options),
  );
}

function failures(r: ScanReport | undefined, layer: Layer): string[] {
  if (!r) return [];
  return r.targets
    .flatMap((t) => t.results.filter((x) => x.status === 'fail' && x.layer === layer))
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity))
    .map((x) => `${x.severity}: ${x.title}`);
}

export interface ReportInput {
  plan: string;
  logs?: string | undefined;
  old?: string | undefined;
  new?: string | undefined;
  oldScan?: string | undefined;
  newScan?: string | undefined;
  /** Time limit for each network operation of a scan. */
  timeout?: number | undefined;
}

export async function buildMigrationReport(o: ReportInput, now = new Date()): Promise<MigrationReport> {
  const plan = readJson<ImportPlan>(o.plan, 'import plan');
  if (plan.schemaVersion !== 1 || !plan.site || !Array.isArray(plan.users)) throw new PortcullisError('ERR_MIGRATE_INPUT', `${o.plan}: not an import plan from portcullis migrate iis --out`);
  let logs: LogAnalysis | undefined;
  if (o.logs) logs = statSync(o.logs).isFile() && o.logs.endsWith('.json') ? readJson<LogAnalysis>(o.logs, 'log analysis') : await analyzeIisLogs(findLogFiles(o.logs), DEFAULT_ANALYSIS);
  const timeout = o.timeout ?? SCAN_LIMITS.defaultTimeoutSeconds;
  const oldScan = o.oldScan ? readJson<ScanReport>(o.oldScan, 'scan') : o.old ? await scan(o.old, timeout) : undefined;
  const newScan = o.newScan ? readJson<ScanReport>(o.newScan, 'scan') : o.new ? await scan(o.new, timeout) : undefined;
  const s = plan.site;
  const cfg = plan.config as { ftps?: { port?: number; implicitPort?: number | null } };
  const clearAccounts = new Set((logs?.proposals.rotate ?? []).map((n) => (n.split('\\').pop() ?? n).toLowerCase()));
  const old: Record<Layer, string[]> = {
    'secure-protocol': [`FTP on ${s.bindings.join(', ')}`, s.ssl.controlChannelPolicy === 'SslAllow' ? 'plain FTP accepted (TLS optional)' : `TLS ${s.ssl.controlChannelPolicy}`, 'no SFTP'],
    encryption: [
      `control channel ${s.ssl.controlChannelPolicy}, data channel ${s.ssl.dataChannelPolicy}`,
      ...(logs ? [`${logs.proposals.rotate.length} of ${logs.accounts.length} active accounts logged in without TLS at least once`] : []),
    ],
    mfa: ['none: IIS FTP authenticates with a password only'],
    'access-restriction': [
      `authentication: ${s.authentication.join(', ') || 'none enabled'}`,
      `user isolation ${s.isolation}`,
      s.allowUnlisted ? 'any address may connect' : 'only listed addresses may connect',
      `logon attempt restrictions ${s.logonAttemptRestrictions}`,
    ],
    monitoring: ['W3C text logs (masked passwords), no alerts', ...(logs ? [`${logs.failedAddresses.length} addresses with failed logins in the logs, ${logs.proposals.bans.length} worth banning`] : [])],
    patching: ['IIS is patched with Windows Update'],
  };
  const neu: Record<Layer, string[]> = {
    'secure-protocol': [`SFTP, FTPS (explicit on ${cfg.ftps?.port ?? 2121}${cfg.ftps?.implicitPort ? `, implicit on ${cfg.ftps.implicitPort}` : ''})`, 'plain FTP refused before login'],
    encryption: ['TLS required on control and data connections (TLS 1.2+), data connections bound to the control session', 'passwords of the imported users are new (set through invitations)'],
    mfa: ['TOTP required for every user by default (enrolled after the invitation: portcullis mfa enroll)'],
    'access-restriction': [
      `${plan.users.length} users, each jailed in a home (${plan.users.filter((u) => u.access === 'read-only').length} read-only)`,
      plan.access.allowListMode ? `allow-list mode: ${plan.access.allow.length} networks` : `${plan.access.deny.length} denied networks`,
      plan.defender ? `defender bans after ${plan.defender.threshold} failures in ${plan.defender.observationMinutes} min` : 'defender on (defaults)',
    ],
    monitoring: ['hash-chained audit trail, alerts (webhook, syslog, email), Prometheus metrics'],
    patching: ['Node.js runtime and dependencies: portcullis posture reports their support dates'],
  };
  const layers = LAYERS.map((l) => ({ layer: l, title: TITLES[l], old: old[l], new: neu[l], oldFindings: failures(oldScan, l), newFindings: failures(newScan, l) }));
  const openItems = [...plan.notImported.map((n) => `${n.what}: ${n.action}`), ...plan.users.flatMap((u) => u.review.map((r) => `${u.name}: ${r}`))];
  const count = (r: ScanReport | undefined): string => (r ? `${r.targets.flatMap((t) => t.results).filter((x) => x.status === 'fail' && x.severity !== 'info').length} findings` : 'not scanned');
  const summary = [
    `Moving IIS FTP site "${s.name}" to Portcullis: ${plan.users.length} users, ${plan.skippedUsers.length} accounts left behind, ${openItems.length} open items.`,
    ...plan.findings.slice(0, 5),
    `Scans: old ${count(oldScan)}, new ${count(newScan)}.`,
  ];
  return {
    schemaVersion: 1,
    generatedAt: now.toISOString(),
    site: s.name,
    summary,
    layers,
    users: plan.users.map((u) => ({ name: u.name, access: u.access, lastLogin: u.lastLogin, clearText: clearAccounts.has(u.name), review: u.review.length })),
    openItems,
    scans: { old: oldScan ? oldScan.targets.map((t) => t.target.url).join(', ') : null, new: newScan ? newScan.targets.map((t) => t.target.url).join(', ') : null },
  };
}

export function formatMigrationText(r: MigrationReport): string {
  const out = [`Migration report: IIS FTP site "${r.site}" → Portcullis (${r.generatedAt})`, '', ...r.summary.map((s) => `* ${s}`)];
  for (const l of r.layers) {
    out.push('', `== ${l.title} (${l.layer})`);
    out.push('  before (IIS):', ...l.old.map((x) => `    - ${x}`), ...l.oldFindings.map((x) => `    ! ${x}`));
    out.push('  after (Portcullis):', ...l.new.map((x) => `    - ${x}`), ...l.newFindings.map((x) => `    ! ${x}`));
  }
  out.push('', 'Users:');
  for (const u of r.users) out.push(`  ${u.name}: ${u.access}${u.lastLogin ? `, last login ${u.lastLogin}` : ''}${u.clearText ? ', password crossed in clear on IIS (now replaced)' : ''}${u.review ? `, ${u.review} to review` : ''}`);
  if (r.openItems.length) out.push('', 'Open items:', ...r.openItems.map((x) => `  - ${x}`));
  return out.join('\n') + '\n';
}

export function formatMigrationHtml(r: MigrationReport): string {
  const e = escapeHtml;
  const li = (xs: string[], cls = ''): string => xs.map((x) => `<li${cls ? ` class="${cls}"` : ''}>${e(x)}</li>`).join('');
  const rows = r.layers.map((l) => `<tr><th>${e(l.title)}</th><td><ul>${li(l.old)}${li(l.oldFindings, 'bad')}</ul></td><td><ul>${li(l.new)}${li(l.newFindings, 'bad')}</ul></td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Migration report: ${e(r.site)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}.bad{color:#b00}</style>
</head><body>
<h1>Migration report: IIS FTP site ${e(r.site)} → Portcullis</h1>
<ul>${li(r.summary)}</ul>
<table><tr><th>layer</th><th>before (IIS)</th><th>after (Portcullis)</th></tr>
${rows}
</table>
<h2>Users</h2>
<ul>${li(r.users.map((u) => `${u.name}: ${u.access}${u.lastLogin ? `, last login ${u.lastLogin}` : ''}${u.clearText ? ', password crossed in clear on IIS' : ''}`))}</ul>
${r.openItems.length ? `<h2>Open items</h2><ul>${li(r.openItems)}</ul>` : ''}
</body></html>
`;
}

export function formatMigrationReport(r: MigrationReport, format: ReportFormat): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  if (format === 'html') return formatMigrationHtml(r);
  return formatMigrationText(r);
}
