// What `portcullis posture` judges from the running server's effective configuration and
// runtime, beyond what a scan of its listeners can see: one row per check, each with its layer,
// its severity, the fix in plain words, and an evaluation of the snapshot. Ids are `posture.*`
// and, like the scanner's, are a contract (docs/scanner.md lists them).
import { X509Certificate } from 'node:crypto';
import { parseCidr } from '../policy/ip-matcher.ts';
import { isLoopback } from '../policy/defender.ts';
import { compareVersions } from '../scanner/version.ts';
import type { Layer, Severity } from '../scanner/types.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { PostureSnapshot } from './snapshot.ts';

export interface PostureInput {
  snapshot: PostureSnapshot;
  lifecycle: Lifecycle;
  now: Date;
}

/** A check's verdict; severity and fix may sharpen the row's defaults for this finding. */
export type Verdict = { status: 'pass' | 'not-applicable'; evidence: string[] } | { status: 'fail'; evidence: string[]; severity?: Severity; fix?: string };

export interface PostureCheck {
  id: string;
  title: string;
  layer: Layer;
  severity: Severity;
  fix: string;
  evaluate(input: PostureInput): Verdict;
}

const pass = (...evidence: string[]): Verdict => ({ status: 'pass', evidence });
const na = (...evidence: string[]): Verdict => ({ status: 'not-applicable', evidence });
const fail = (evidence: string[], more: { severity?: Severity; fix?: string } = {}): Verdict => ({ status: 'fail', evidence, ...more });
const names = (list: string[], total: number) => `${list.join(', ')}${total > list.length ? ` and ${total - list.length} more` : ''}`;
const DAY = 86_400_000;

/** A safe-list entry this wide exempts whole networks from banning. */
function tooBroad(cidr: string): boolean {
  try {
    const c = parseCidr(cidr);
    return c.family === 'ipv4' ? c.prefix < 16 : c.prefix < 48;
  } catch {
    return false;
  }
}

/** Semver release line: the major, or major.minor below 1.0 (where a minor may break). */
export function releaseLine(version: string): string {
  const [major = '', minor = ''] = version.split('.');
  return major === '0' ? `0.${minor}` : major;
}

function leafCertificate(pem: string): X509Certificate | null {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  try {
    return first ? new X509Certificate(first[0]) : null;
  } catch {
    return null;
  }
}

export const POSTURE_CHECKS: readonly PostureCheck[] = [
  // --- secure protocols ---
  {
    id: 'posture.plaintext-ftp',
    title: 'FTP logins are accepted without TLS',
    layer: 'secure-protocol',
    severity: 'high',
    fix: 'Set ftps.allowPlaintext: false (the default) so that every FTP client must send AUTH TLS before USER; move the remaining plain-FTP clients to FTPS or SFTP.',
    evaluate: ({ snapshot: { config } }) =>
      !config.ftps.enabled ? na('FTPS is disabled') : config.ftps.allowPlaintext ? fail(['ftps.allowPlaintext: true']) : pass('ftps.allowPlaintext: false: USER before AUTH TLS is refused'),
  },
  // --- encryption ---
  {
    id: 'posture.ssh-legacy-algorithms',
    title: 'Older SSH algorithms are enabled',
    layer: 'encryption',
    severity: 'low',
    fix: 'Remove entries from sftp.legacyAlgorithms once the clients that needed them are upgraded (libssh2 ≥ 1.11 speaks the -etm MACs; use rsa-sha2-256/512 or ed25519 user keys instead of SHA-1 ssh-rsa).',
    evaluate: ({ snapshot: { config } }) => {
      if (!config.sftp.enabled) return na('SFTP is disabled');
      const legacy = config.sftp.legacyAlgorithms;
      if (legacy.length === 0) return pass('sftp.legacyAlgorithms is empty: modern algorithms only');
      return fail([`sftp.legacyAlgorithms: ${legacy.join(', ')}`], legacy.includes('ssh-rsa') ? { severity: 'medium' } : {});
    },
  },
  {
    id: 'posture.ftps-data-session-reuse',
    title: 'FTPS data connections need not resume the control connection’s TLS session',
    layer: 'encryption',
    severity: 'medium',
    fix: 'Set ftps.dataTlsSessionReuse to "required" (the default), so every data connection is tied to its control connection by TLS session resumption as well as by address; move clients that never resume (Python\'s stock ftplib) to a resuming subclass, curl, lftp or SFTP.',
    evaluate: ({ snapshot: { config } }) =>
      !config.ftps.enabled
        ? na('FTPS is disabled')
        : config.ftps.dataTlsSessionReuse === 'optional'
          ? fail(['ftps.dataTlsSessionReuse: optional: only the peer address ties a data connection to its session (another client at that address can take a transfer over)'])
          : pass(`ftps.dataTlsSessionReuse: ${config.ftps.dataTlsSessionReuse}`),
  },
  {
    id: 'posture.certificate-expiry',
    title: 'The TLS certificate has expired or expires soon',
    layer: 'encryption',
    severity: 'medium',
    fix: 'Install a renewed certificate (tls.certFile / tls.keyFile) and send the server SIGHUP: it reloads the certificate without dropping sessions.',
    evaluate: ({ snapshot, now }) => {
      if (!snapshot.config.ftps.enabled) return na('FTPS is disabled');
      const cert = leafCertificate(snapshot.certificate.pem);
      if (!cert) return fail([`${snapshot.certificate.file}: not a readable PEM certificate`], { severity: 'high' });
      const left = (Date.parse(cert.validTo) - now.getTime()) / DAY;
      const soon = Math.max(30, snapshot.config.alerts.rules.certificateExpiry.days);
      if (left <= 0) return fail([`expired on ${cert.validTo}`], { severity: 'high' });
      if (left <= soon) return fail([`expires on ${cert.validTo}, in ${Math.floor(left)} days`]);
      return pass(`valid until ${cert.validTo} (${Math.floor(left)} days)`);
    },
  },
  {
    id: 'posture.certificate-self-signed',
    title: 'The TLS certificate is self-signed',
    layer: 'encryption',
    severity: 'info',
    fix: 'Clients must pin its fingerprint (printed at start) or trust data/tls/cert.pem; for partners you do not brief one by one, install a certificate from a CA they trust (tls.certFile / tls.keyFile).',
    evaluate: ({ snapshot }) => {
      if (!snapshot.config.ftps.enabled) return na('FTPS is disabled');
      const cert = leafCertificate(snapshot.certificate.pem);
      if (!cert) return na('no readable certificate (see posture.certificate-expiry)');
      const selfSigned = cert.subject === cert.issuer && cert.verify(cert.publicKey);
      return selfSigned ? fail([`subject = issuer = ${cert.subject.replace(/\n/g, ', ')}, SHA256 ${cert.fingerprint256}`]) : pass(`issued by ${cert.issuer.replace(/\n/g, ', ')}`);
    },
  },
  // --- multi-factor authentication ---
  {
    id: 'posture.mfa-not-required',
    title: 'Users can log in with a single factor',
    layer: 'mfa',
    severity: 'medium',
    fix: 'Set mfa.required: true (the default) and enrol every user with `portcullis mfa enroll NAME`; a stolen password or key alone then opens nothing.',
    evaluate: ({ snapshot: { config, users } }) =>
      config.mfa.required
        ? pass('mfa.required: true')
        : fail([`mfa.required: false: ${users.withoutMfa} of ${users.total - users.disabled} enabled users log in with one factor`]),
  },
  {
    id: 'posture.mfa-exempt-users',
    title: 'Some users are exempt from MFA',
    layer: 'mfa',
    severity: 'low',
    fix: 'Enrol them (`portcullis mfa enroll NAME`) and set `portcullis user set NAME --mfa default`; for unattended transfers prefer a key restricted by `user set NAME --allow-from CIDR` over an exemption.',
    evaluate: ({ snapshot: { config, users } }) => {
      if (!config.mfa.required) return na('mfa.required is off (see posture.mfa-not-required)');
      return users.exempt.length > 0 ? fail([`exempt with --mfa optional: ${names(users.exempt, users.withoutMfa)}`]) : pass('no user is exempt');
    },
  },
  {
    id: 'posture.mfa-not-enrolled',
    title: 'Users who need MFA have not enrolled (they cannot log in)',
    layer: 'mfa',
    severity: 'info',
    fix: 'Run `portcullis mfa enroll NAME` and `portcullis mfa confirm NAME CODE` with each of them, or remove accounts nobody uses.',
    evaluate: ({ snapshot: { users } }) =>
      users.notEnrolled.length > 0 ? fail([`not enrolled: ${users.notEnrolled.join(', ')}${users.notEnrolled.length >= 20 ? ' …' : ''}`]) : pass(`${users.needMfa} users need MFA; all have enrolled`),
  },
  // --- restricted access ---
  {
    id: 'posture.defender-off',
    title: 'The brute-force defender is off',
    layer: 'access-restriction',
    severity: 'medium',
    fix: 'Set defender.enabled: true (the default): failed logins, unknown users and malformed input then ban the address.',
    evaluate: ({ snapshot: { config } }) => (config.defender.enabled ? pass(`defender on: ${config.defender.threshold} points in ${config.defender.observationMinutes} min ban for ${config.defender.banMinutes} min`) : fail(['defender.enabled: false'])),
  },
  {
    id: 'posture.defender-safelist-broad',
    title: 'The defender’s safe list exempts whole networks',
    layer: 'access-restriction',
    severity: 'medium',
    fix: 'Narrow defender.safeList to the monitoring hosts and offices that need it (IPv4 /16 or longer, IPv6 /48 or longer).',
    evaluate: ({ snapshot: { config } }) => {
      const broad = config.defender.safeList.filter(tooBroad);
      return broad.length > 0 ? fail([`defender.safeList: ${broad.join(', ')}`]) : pass(config.defender.safeList.length ? `safe list: ${config.defender.safeList.join(', ')}` : 'safe list empty');
    },
  },
  {
    id: 'posture.connection-rate-off',
    title: 'New connections per address are not rate-limited',
    layer: 'access-restriction',
    severity: 'low',
    fix: 'Set rateLimits.connectionsPerSecond to a small number (default 10).',
    evaluate: ({ snapshot: { config } }) => (config.rateLimits.connectionsPerSecond > 0 ? pass(`rateLimits.connectionsPerSecond: ${config.rateLimits.connectionsPerSecond}`) : fail(['rateLimits.connectionsPerSecond: 0'])),
  },
  {
    id: 'posture.metrics-exposed',
    title: 'The metrics and health endpoint listens beyond this host',
    layer: 'access-restriction',
    severity: 'low',
    fix: 'Set metrics.address: 127.0.0.1 (the default) and let the Prometheus server scrape through a tunnel or a reverse proxy with authentication, or firewall the port to the scraper.',
    evaluate: ({ snapshot: { config } }) => {
      if (!config.metrics.enabled) return na('metrics are off');
      return isLoopback(config.metrics.address) ? pass(`metrics.address: ${config.metrics.address}`) : fail([`metrics.address: ${config.metrics.address} (port ${config.metrics.port}): user names and addresses in /metrics labels are readable from the network`]);
    },
  },
  {
    id: 'posture.admin-exposed',
    title: 'The admin REST API listens beyond this host',
    layer: 'access-restriction',
    severity: 'medium',
    fix: 'Set admin.address: 127.0.0.1 (the default) and reach the API through SSH port forwarding or a reverse proxy on the management network (admin.trustedProxies); if it must listen on the network, bind tokens to addresses (`portcullis admin token create … --from CIDR`) and firewall the port.',
    evaluate: ({ snapshot: { config } }) => {
      if (!config.admin.enabled) return na('the admin API is off (admin.enabled: false)');
      return isLoopback(config.admin.address) ? pass(`admin.address: ${config.admin.address}`) : fail([`admin.address: ${config.admin.address} (port ${config.admin.port}): the management plane is reachable from the network`], config.admin.tls ? {} : { severity: 'high' });
    },
  },
  {
    id: 'posture.allow-list-off',
    title: 'Any address may connect (allow-list mode off)',
    layer: 'access-restriction',
    severity: 'info',
    fix: 'If your partners connect from known addresses, list them (`portcullis allow add CIDR`) and set access.allowListMode: true; per user, `portcullis user set NAME --allow-from CIDR`.',
    evaluate: ({ snapshot: { config } }) => (config.access.allowListMode ? pass(`allow-list mode on (${config.access.allow.length} configured entries, plus the CLI's)`) : fail(['access.allowListMode: false'])),
  },
  // --- monitoring ---
  {
    id: 'posture.audit-off',
    title: 'The audit trail is incomplete or off',
    layer: 'monitoring',
    severity: 'low',
    fix: 'Set audit.file: true and audit.store: true (the defaults): the hash-chained file trail is what `portcullis audit verify` checks, the store is what `audit search` and `logins` query.',
    evaluate: ({ snapshot: { config } }) => {
      const { file, store } = config.audit;
      if (file && store) return pass('audit.file and audit.store are on (hash-chained)');
      if (!file && !store) return fail(['audit.file: false, audit.store: false: logins and file operations are not recorded'], { severity: 'high' });
      return fail([file ? 'audit.store: false: `audit search` and `logins` have nothing to query' : 'audit.file: false: no tamper-evident file trail']);
    },
  },
  {
    id: 'posture.metrics-off',
    title: 'Metrics are off',
    layer: 'monitoring',
    severity: 'low',
    fix: 'Set metrics.enabled: true (the default) and scrape /metrics, so failed logins, bans and transfers show on a dashboard.',
    evaluate: ({ snapshot: { config } }) => (config.metrics.enabled ? pass(`metrics on ${config.metrics.address}:${config.metrics.port}`) : fail(['metrics.enabled: false'])),
  },
  {
    id: 'posture.alerts-no-destination',
    title: 'Alerts have nowhere to go',
    layer: 'monitoring',
    severity: 'info',
    fix: 'Configure alerts.webhook (url + secret), alerts.syslog.host or alerts.email (host + to) so bans, MFA failures and logins from new addresses reach a person.',
    evaluate: ({ snapshot: { config } }) => {
      const { webhook, syslog, email } = config.alerts;
      const on = [webhook.url && 'webhook', syslog.host && 'syslog', email.host && 'email'].filter(Boolean);
      return on.length > 0 ? pass(`alert destinations: ${on.join(', ')}`) : fail(['no alerts.webhook.url, alerts.syslog.host or alerts.email.host: alerts are only logged']);
    },
  },
  {
    id: 'posture.log-level',
    title: 'The log level hides warnings',
    layer: 'monitoring',
    severity: 'low',
    fix: 'Set log.level to info (the default) or warn.',
    evaluate: ({ snapshot: { config } }) => (['fatal', 'error', 'silent'].includes(config.log.level) ? fail([`log.level: ${config.log.level}`]) : pass(`log.level: ${config.log.level}`)),
  },
  // --- patching ---
  {
    id: 'posture.runtime',
    title: 'The Node.js runtime is out of support or behind on security releases',
    layer: 'patching',
    severity: 'medium',
    fix: 'Install the newest release of a supported Node.js LTS line and restart the server (the drain on SIGTERM lets transfers finish).',
    evaluate: ({ snapshot, lifecycle, now }) => {
      const version = snapshot.server.node.replace(/^v/, '');
      const major = version.split('.')[0]!;
      const line = lifecycle.node[major];
      if (!line) {
        const known = Object.keys(lifecycle.node).map(Number);
        return Number(major) > Math.max(...known) ? pass(`Node.js ${version} is newer than this data (${lifecycle.date})`) : fail([`Node.js ${version}: line ${major} is not in the lifecycle data (${lifecycle.date})`], { severity: 'low' });
      }
      const supported = Object.entries(lifecycle.node)
        .filter(([k, l]) => Date.parse(l.eol) > now.getTime() && Number(k) % 2 === 0)
        .map(([k]) => k);
      if (Date.parse(line.eol) <= now.getTime()) {
        return fail([`Node.js ${version}: line ${major} reached end of life on ${line.eol} and gets no security releases`], { fix: `Upgrade to Node.js ${supported.join(' or ')} (supported LTS lines) and restart the server.` });
      }
      if (compareVersions(version, line.latest) < 0) {
        return fail([`Node.js ${version}: ${line.latest} is out (lifecycle data of ${lifecycle.date}); releases in between may carry security fixes`], { severity: 'low', fix: `Upgrade to Node.js ${line.latest} or newer and restart the server.` });
      }
      const phase = Date.parse(line.maintenanceFrom) <= now.getTime() ? `maintenance until ${line.eol}` : `supported until ${line.eol}`;
      return pass(`Node.js ${version} (OpenSSL ${snapshot.server.openssl}), line ${major}: ${phase}`);
    },
  },
  {
    id: 'posture.dependencies',
    title: 'Dependencies are behind or have known advisories',
    layer: 'patching',
    severity: 'low',
    fix: 'Update Portcullis (npm install portcullis@latest, or `npm update` in a source checkout), run `npm test`, and restart the server.',
    evaluate: ({ snapshot, lifecycle }) => {
      const vulnerable: string[] = [];
      const behind: string[] = [];
      const newerMajor: string[] = [];
      for (const dep of snapshot.dependencies) {
        if (dep.version === null) continue;
        for (const a of lifecycle.advisories) {
          if (a.package === dep.name && compareVersions(dep.version, a.fixedIn) < 0) vulnerable.push(`${dep.name} ${dep.version}: ${a.id} (${a.summary}; fixed in ${a.fixedIn})`);
        }
        const latest = lifecycle.dependencies[dep.name];
        if (!latest || compareVersions(dep.version, latest) >= 0) continue;
        (releaseLine(dep.version) === releaseLine(latest) ? behind : newerMajor).push(`${dep.name} ${dep.version} → ${latest}`);
      }
      const missing = snapshot.dependencies.filter((d) => d.version === null).map((d) => d.name);
      const also = [...(newerMajor.length ? [`newer major versions (not automatic upgrades): ${newerMajor.join(', ')}`] : []), ...(missing.length ? [`not found on disk: ${missing.join(', ')}`] : [])];
      if (vulnerable.length) return fail([...vulnerable, ...behind.map((b) => `behind: ${b}`), ...also], { severity: 'high' });
      if (behind.length) return fail([...behind.map((b) => `behind: ${b}`), ...also]);
      return pass(`${snapshot.dependencies.length} runtime dependencies, none behind its release line or under a known advisory (data of ${lifecycle.date})`, ...also);
    },
  },
  {
    id: 'posture.data-age',
    title: 'The lifecycle data this verdict rests on is old',
    layer: 'patching',
    severity: 'info',
    fix: 'Update Portcullis, or pass a newer file with `portcullis posture --lifecycle FILE`.',
    evaluate: ({ lifecycle, now }) => {
      const days = Math.floor((now.getTime() - Date.parse(lifecycle.date)) / DAY);
      return days > 180 ? fail([`runtime and dependency data of ${lifecycle.date} (${days} days old)`]) : pass(`runtime and dependency data of ${lifecycle.date}`);
    },
  },
];
