// The import plan as text, JSON or a self-contained HTML page (plain summary first, like the log
// analysis), and the Portcullis configuration file it proposes.
import YAML from 'yaml';
import { parseConfig } from '../config/load.ts';
import { escapeHtml } from '../scanner/report-html.ts';
import type { ImportPlan } from './iis-plan.ts';

export const PLAN_FORMATS = ['text', 'json', 'html'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

const homeText = (u: ImportPlan['users'][number]): string => `<homes>/${u.sharedHome ?? u.name}`;

export function formatPlanText(p: ImportPlan): string {
  const out = ['IIS FTP import plan (nothing has been changed)', '', ...p.summary.map((s) => `* ${s}`), ''];
  out.push(`Users (${p.users.length}):`);
  for (const u of p.users) {
    out.push(`  ${u.name}: ${u.access}, home ${homeText(u)} (IIS: ${u.iisHome})${u.allowFrom.length ? `, allow-from ${u.allowFrom.join(',')} (from the logs)` : ''}${u.lastLogin ? `, last login ${u.lastLogin}` : ''}; was ${u.iisNames.join(', ')} [${u.sources.join(', ')}]`);
    for (const r of u.review) out.push(`      review: ${r}`);
  }
  if (p.skippedUsers.length) {
    out.push('', 'Accounts not imported:');
    for (const s of p.skippedUsers) out.push(`  ${s.name}: ${s.reason}`);
  }
  out.push('', 'Network access:');
  out.push(`  allow-list mode: ${p.access.allowListMode ? 'on (only listed addresses may connect)' : 'off'}`);
  out.push(`  allow: ${p.access.allow.join(', ') || 'none'}`);
  out.push(`  deny: ${p.access.deny.join(', ') || 'none'}`);
  out.push('', `Defender: ${p.defender ? `ban after ${p.defender.threshold} failures within ${p.defender.observationMinutes} minutes` : 'Portcullis defaults'}`);
  if (p.findings.length) {
    out.push('', 'Findings about the old server:');
    for (const f of p.findings) out.push(`  - ${f}`);
  }
  if (p.notImported.length) {
    out.push('', 'Not imported:');
    for (const n of p.notImported) out.push(`  - ${n.what}: ${n.why}. Do: ${n.action}.`);
  }
  out.push('', 'Configuration (portcullis.yaml):', ...formatPlanYaml(p).trimEnd().split('\n').map((l) => `  ${l}`));
  out.push('', 'Next: review this plan, then run the same command with --apply (and -c the Portcullis configuration) to create the users and their invitations.');
  return out.join('\n') + '\n';
}

export function formatPlanHtml(p: ImportPlan): string {
  const e = escapeHtml;
  const users = p.users
    .map((u) => `<tr><td>${e(u.name)}</td><td>${e(u.access)}</td><td>${e(homeText(u))}</td><td>${e(u.iisHome)}</td><td>${e(u.allowFrom.join(' '))}</td><td>${e(u.iisNames.join(', '))}</td><td>${u.review.map((r) => e(r)).join('<br>')}</td></tr>`)
    .join('\n');
  const items = (xs: string[]): string => `<ul>${xs.map((x) => `<li>${e(x)}</li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IIS FTP import plan: ${e(p.site.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}li{margin:.3em 0}pre{background:#f6f6f6;padding:1em}</style>
</head><body>
<h1>IIS FTP import plan: ${e(p.site.name)}</h1>
${items(p.summary)}
<h2>Users</h2>
<table><tr><th>user</th><th>access</th><th>home</th><th>IIS home</th><th>allow-from (logs)</th><th>IIS names</th><th>review</th></tr>
${users}
</table>
${p.skippedUsers.length ? `<h2>Accounts not imported</h2>${items(p.skippedUsers.map((s) => `${s.name}: ${s.reason}`))}` : ''}
<h2>Findings about the old server</h2>
${items(p.findings)}
<h2>Not imported</h2>
${items(p.notImported.map((n) => `${n.what}: ${n.why}. Do: ${n.action}.`))}
<h2>Configuration</h2>
<pre>${e(formatPlanYaml(p))}</pre>
</body></html>
`;
}

export function formatPlan(p: ImportPlan, format: PlanFormat): string {
  if (format === 'json') return JSON.stringify(p, null, 2) + '\n';
  if (format === 'html') return formatPlanHtml(p);
  return formatPlanText(p);
}

/** The proposed portcullis.yaml; checked against the schema before it is handed out. */
export function formatPlanYaml(p: ImportPlan): string {
  parseConfig(p.config, 'the generated configuration'); // throws ERR_CONFIG_INVALID: a bug here, never a file that `config check` refuses
  const head = [
    `# Portcullis configuration proposed by \`portcullis migrate iis\` for IIS site "${p.site.name}"`,
    `# (${p.site.bindings.join(', ')}; isolation ${p.site.isolation}), ${p.generatedAt}.`,
    '# Every key not set here keeps its secure default: see docs/configuration.md.',
    '# Ports below 1024 (21, 990) need CAP_NET_BIND_SERVICE or a port forward.',
  ];
  return `${head.join('\n')}\n${YAML.stringify(p.config)}`;
}
