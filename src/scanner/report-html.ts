// Self-contained HTML report: inline CSS, no scripts, no external resources.
import { formatControls } from './controls.ts';
import { LAYER_TITLES, leftovers } from './report-text.ts';
import { LAYERS, SEVERITIES, severityRank, type ScanReport } from './types.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

export function formatHtml(report: ScanReport): string {
  const e = escapeHtml;
  const parts: string[] = [];
  const left = leftovers(report);
  if (left.length) {
    parts.push(`<div class="warn" role="alert"><b>Write probes left these on the targets; remove them by hand:</b><ul>${left.map((l) => `<li>${e(l)}</li>`).join('')}</ul></div>`);
  }
  for (const t of report.targets) {
    parts.push(`<section><h2>${e(t.target.url)}</h2><p>${t.reachable ? 'reachable' : '<b>not reachable</b>'} · ${(t.durationMs / 1000).toFixed(1)} s${t.banner ? ` · banner <code>${e(t.banner.split('\n')[0]!)}</code>` : ''}</p>`);
    const count = (status: string): number => t.results.filter((r) => r.status === status).length;
    const bySeverity = [...SEVERITIES].reverse().map((sev) => `<td class="${sev}">${t.results.filter((r) => r.status === 'fail' && r.severity === sev).length}</td>`);
    parts.push(
      `<table class="summary"><tr>${[...SEVERITIES].reverse().map((sev) => `<th>${sev}</th>`).join('')}<th>passed</th><th>not applicable</th><th>not checked</th></tr>` +
        `<tr>${bySeverity.join('')}<td>${count('pass')}</td><td>${count('not-applicable')}</td><td>${count('error')}</td></tr></table>`,
    );
    if (t.scannerError) parts.push(`<p class="warn">Scanner error: ${e(t.scannerError)}</p>`);
    for (const layer of LAYERS) {
      const fails = t.results.filter((r) => r.status === 'fail' && r.layer === layer).sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
      if (!fails.length) continue;
      parts.push(`<h3>${e(LAYER_TITLES[layer] ?? layer)}</h3>`);
      for (const r of fails) {
        parts.push(
          `<div class="f ${r.severity}"><span class="sev">${e(r.severity)}</span> <b>${e(r.title)}</b>${r.potential ? ' <i>(potential)</i>' : ''} <code>${e(r.id)}</code>` +
            `<ul>${r.evidence.map((x) => `<li>${e(x)}</li>`).join('')}</ul><p class="fix">Fix${r.fixFor ? ` (${e(r.fixFor)})` : ''}: ${e(r.fix)}</p><p class="ctl">Controls: ${e(formatControls(r.controls))}</p></div>`,
        );
      }
    }
    const notChecked = t.results.filter((r) => r.status === 'error');
    if (notChecked.length) {
      parts.push(`<h3>Not checked (${notChecked.length})</h3><ul class="nc">${notChecked.map((r) => `<li><b>${e(r.id)}</b>: ${e(r.reason ?? 'error')}</li>`).join('')}</ul>`);
    }
    parts.push('<details><summary>All checks</summary><table><tr><th>#</th><th>check</th><th>status</th><th>severity</th><th>layer</th><th>detail</th></tr>');
    for (const r of t.results) {
      parts.push(`<tr class="${r.status}"><td>${r.n}</td><td>${e(r.id)}</td><td>${e(r.status)}</td><td>${e(r.severity)}</td><td>${e(LAYER_TITLES[r.layer] ?? r.layer)}</td><td>${e(r.reason ?? r.evidence.join(' / '))}</td></tr>`);
    }
    parts.push('</table></details></section>');
  }
  const f = report.summary.findings;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portcullis scan report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
code{background:#f3f3f3;padding:0 .2em}.f{border-left:.4em solid #999;padding:.3em .8em;margin:.6em 0;background:#fafafa}
.critical{border-color:#8b008b}.high{border-color:#c00}.medium{border-color:#e69500}.low{border-color:#2a8bb3}.info{border-color:#999}
.warn{border:2px solid #e69500;background:#fff7e6;padding:.5em 1em;margin:1em 0}.summary td{text-align:center;min-width:4em}.summary td.critical,.summary td.high{font-weight:bold}
.ctl{color:#555;font-size:.85em}.sev{text-transform:uppercase;font-weight:bold;font-size:.8em}.fix{color:#064}table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #ddd;padding:.2em .4em;text-align:left;vertical-align:top}tr.fail td:nth-child(3){color:#c00;font-weight:bold}tr.error td:nth-child(3){color:#a60}
</style></head><body>
<h1>Portcullis scan report</h1>
<p>Generated ${e(report.generatedAt)} by ${e(report.tool.name)} ${e(report.tool.version)} · advisories ${e(report.options.advisoriesDate)} · findings: ${f.critical} critical, ${f.high} high, ${f.medium} medium, ${f.low} low, ${f.info} info</p>
${parts.join('\n')}
</body></html>
`;
}
