// Checks shared by FTP and SSH targets: exposure, version disclosure, banner-based advisories.
import { matchAdvisories } from './advisories.ts';
import type { ProductInfo } from './banner.ts';
import type { TargetScan } from './context.ts';
import { severityRank, type Severity } from './types.ts';

export function checkExposure(s: TargetScan, greeting: string): void {
  s.fail('svc.exposed-service', [`${s.target.scheme} service answered on ${s.target.host}:${s.target.port}: ${greeting}`]);
}

export function checkVersionDisclosure(s: TargetScan, info: ProductInfo | undefined, where: string, text: string): void {
  if (info?.version) {
    s.fail('svc.version-disclosure', [`${where} discloses ${info.product} ${info.version}: ${text}`]);
  } else {
    s.pass('svc.version-disclosure', `${where} shows no product version: ${text}`);
  }
}

export function checkAdvisories(s: TargetScan, info: ProductInfo | undefined, text: string): void {
  if (!info) {
    s.pass('svc.vulnerable-version', `product not identified from the banner (${text}); no banner-based advisory applies`);
    return;
  }
  if (!info.version) {
    s.error('svc.vulnerable-version', `${info.product} identified but its banner hides the version: check the installed version locally`, 'not-testable', [text]);
    return;
  }
  const v = matchAdvisories(s.options.advisories, info);
  if (v.matches.length === 0) {
    s.pass('svc.vulnerable-version', `${info.product} ${info.version}${info.distro ? ` ${info.distro}` : ''}: no advisory in ${s.options.advisories.date} data`, ...v.patchedBackports);
    return;
  }
  let sev: Severity = 'info';
  const evidence: string[] = [];
  for (const m of v.matches) {
    if (severityRank(m.severity) > severityRank(sev)) sev = m.severity;
    evidence.push(
      `potential: ${m.product} ${m.version} matches ${m.cves.join(', ') || m.advisoryId} (${m.severity}${m.knownExploited ? ', known exploited' : ''}, ${m.published}): ${m.summary}` +
        `${m.distroNote ? ` [${m.distroNote}]` : ''} To confirm: ${m.confirm}`,
    );
  }
  evidence.push(...v.patchedBackports);
  s.fail('svc.vulnerable-version', evidence, { severity: sev, potential: true, advisories: v.matches });
}

/** Default/vendor pairs tried by auth.default-credentials on every protocol (strictly bounded). */
export const DEFAULT_CREDENTIALS: readonly [string, string][] = [
  ['admin', 'admin'],
  ['admin', 'password'],
  ['test', 'test'],
  ['root', 'root'],
  ['guest', 'guest'],
  ['ftp', 'ftp'],
];
