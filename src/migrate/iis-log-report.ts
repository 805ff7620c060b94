// The log analysis as text, JSON or a self-contained HTML page, plain summary first.
import { escapeHtml } from '../scanner/report-html.ts';
import type { LogAnalysis } from './iis-log-analysis.ts';

export const LOG_FORMATS = ['text', 'json', 'html'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

function totals(a: LogAnalysis['accounts'][number]): { down: number; up: number } {
  return Object.values(a.bytesPerDay).reduce((t, d) => ({ down: t.down + d.down, up: t.up + d.up }), { down: 0, up: 0 });
}

export function formatLogText(a: LogAnalysis): string {
  const out = ['IIS FTP log analysis', '', ...a.summary.map((s) => `* ${s}`), ''];
  out.push(`Accounts (${a.accounts.length}), most recent login first:`);
  for (const x of a.accounts) {
    const t = totals(x);
    out.push(
      `  ${x.name}: ${x.sessions} sessions, last login ${x.lastLogin}, ${x.tlsSessions} with TLS / ${x.cleartextSessions} in clear, ` +
        `${x.downloads} down / ${x.uploads} up${a.hasByteCounts ? ` (${mb(t.down)} / ${mb(t.up)})` : ''}, networks ${Object.keys(x.networks).join(' ')}` +
        `${x.activeModeCommands ? `, active mode ${x.activeModeCommands}×` : ''}${Object.keys(x.siteCommands).length ? `, SITE ${Object.keys(x.siteCommands).join(' ')}` : ''}`,
    );
  }
  if (a.failedAddresses.length) {
    out.push('', 'Addresses with failed logins (530), most first:');
    for (const f of a.failedAddresses.slice(0, 50)) {
      out.push(`  ${f.address}: ${f.failures} failures (${f.first} to ${f.last}), users tried: ${f.users.slice(0, 8).join(', ')}${f.alsoSucceeded ? '; also logged in successfully' : ''}`);
    }
  }
  if (a.proposals.allowLists.length) {
    out.push('', 'Proposed allow-lists:');
    for (const p of a.proposals.allowLists) out.push(`  portcullis user set ${p.account} --allow-from ${p.networks.join(',')}`);
  }
  if (a.proposals.bans.length) {
    out.push('', 'Proposed bans:');
    for (const b of a.proposals.bans) out.push(`  portcullis ban add ${b}`);
  }
  return out.join('\n') + '\n';
}

export function formatLogHtml(a: LogAnalysis): string {
  const e = escapeHtml;
  const rows = a.accounts
    .map((x) => {
      const t = totals(x);
      return `<tr><td>${e(x.name)}</td><td>${x.sessions}</td><td>${e(x.lastLogin)}</td><td>${x.tlsSessions}</td><td class="${x.cleartextSessions ? 'bad' : ''}">${x.cleartextSessions}</td><td>${x.downloads} / ${x.uploads}${a.hasByteCounts ? ` (${mb(t.down)} / ${mb(t.up)})` : ''}</td><td>${e(Object.keys(x.networks).join(' '))}</td></tr>`;
    })
    .join('\n');
  const failed = a.failedAddresses
    .slice(0, 100)
    .map((f) => `<tr><td>${e(f.address)}</td><td>${f.failures}</td><td>${e(f.users.slice(0, 8).join(', '))}</td><td>${f.alsoSucceeded ? 'yes' : 'no'}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IIS FTP log analysis</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}.bad{color:#b00;font-weight:bold}li{margin:.3em 0}</style>
</head><body>
<h1>IIS FTP log analysis</h1>
<ul>${a.summary.map((s) => `<li>${e(s)}</li>`).join('')}</ul>
<h2>Accounts</h2>
<table><tr><th>account</th><th>sessions</th><th>last login (UTC)</th><th>TLS</th><th>in clear</th><th>down / up</th><th>networks</th></tr>
${rows}
</table>
${failed ? `<h2>Failed logins by address</h2><table><tr><th>address</th><th>failures</th><th>users tried</th><th>also succeeded</th></tr>\n${failed}\n</table>` : ''}
</body></html>
`;
}

export function formatLogAnalysis(a: LogAnalysis, format: LogFormat): string {
  if (format === 'json') return JSON.stringify(a, null, 2) + '\n';
  if (format === 'html') return formatLogHtml(a);
  return formatLogText(a);
}
