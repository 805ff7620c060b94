// What `portcullis doctor` checks: one row per check, in report order. Each returns its lines
// (at least one: an `ok` line says what was looked at), each with a severity and the fix.
// Nothing here needs the server running, and nothing reaches the network unless doctor.clockUrl
// is configured. Ids are a contract (docs/doctor.md lists them).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { POSTURE_CHECKS } from '../posture/checks.ts';
import type { Lifecycle } from '../posture/lifecycle.ts';
import type { PostureSnapshot } from '../posture/snapshot.ts';
import type { StoreState } from '../store/inspect.ts';
import type { InstalledTree } from './lockfile.ts';
import { matchInstalled, type AdvisorySet, type OsvSeverity } from './osv.ts';
import type { DoctorArea, DoctorFinding, DoctorSeverity } from './types.ts';

export interface FsStats {
  bsize: number;
  blocks: number;
  bavail: number;
  files: number;
  ffree: number;
}

export interface DoctorContext {
  config: Config;
  now: Date;
  /** The running Node.js version, without the v. */
  node: string;
  lifecycle: Lifecycle;
  advisories: AdvisorySet;
  /** The installed dependency tree (throws ERR_DOCTOR_LOCKFILE when unreadable). */
  tree(): InstalledTree;
  /** The store's reachability and migration state (memoised by the caller). */
  store(): Promise<StoreState>;
  statfs(dir: string): Promise<FsStats>;
  /** The Date header of an HTTP answer from `url`, and the round-trip time. */
  clockReference(url: string): Promise<{ date: Date; rttMs: number }>;
}

export interface DoctorCheck {
  id: string;
  area: DoctorArea;
  title: string;
  run(ctx: DoctorContext): DoctorFinding[] | Promise<DoctorFinding[]>;
}

const DAY = 86_400_000;

type Line = Omit<DoctorFinding, 'id' | 'area' | 'evidence' | 'fix'> & { evidence?: string[]; fix?: string };
const lines = (id: string, area: DoctorArea, list: Line[]): DoctorFinding[] => list.map((l) => ({ id, area, evidence: [], fix: '', ...l }));

/** Worst of two severities that count (ok < warning < problem). */
const ORDER: Record<DoctorSeverity, number> = { ok: 0, 'not-checked': 1, info: 2, warning: 3, problem: 4 };
export const worse = (a: DoctorSeverity, b: DoctorSeverity): DoctorSeverity => (ORDER[a] >= ORDER[b] ? a : b);
export const severityOrder = (s: DoctorSeverity): number => ORDER[s];

// ---------------------------------------------------------------- runtime

function runtimeCheck(ctx: DoctorContext): DoctorFinding[] {
  const { lifecycle, now } = ctx;
  const version = ctx.node.replace(/^v/, '');
  const major = version.split('.')[0]!;
  const line = lifecycle.node[major];
  const id = 'doctor.runtime';
  const supported = Object.entries(lifecycle.node)
    .filter(([k, l]) => Date.parse(l.eol) > now.getTime() && Number(k) % 2 === 0)
    .map(([k]) => k);
  const upgradeLts = `Install the newest release of Node.js ${supported.join(' or ')} (supported LTS lines), then restart the server.`;
  if (!line) {
    const newest = Math.max(...Object.keys(lifecycle.node).map(Number));
    return Number(major) > newest
      ? lines(id, 'runtime', [{ severity: 'info', subject: `node ${major}`, summary: `Node.js ${version} is newer than the lifecycle data (${lifecycle.date})`, fix: 'Update the lifecycle data (doctor --lifecycle FILE, or update Portcullis).' }])
      : lines(id, 'runtime', [{ severity: 'warning', subject: `node ${major}`, summary: `Node.js ${version}: line ${major} is not in the lifecycle data (${lifecycle.date}); an odd line gets no long-term support`, fix: upgradeLts }]);
  }
  const out: Line[] = [];
  const eol = Date.parse(line.eol);
  const daysToEol = Math.floor((eol - now.getTime()) / DAY);
  if (eol <= now.getTime()) {
    out.push({ severity: 'problem', subject: `node ${major} end of life`, summary: `Node.js ${version}: line ${major} reached end of life on ${line.eol} and gets no security releases`, fix: upgradeLts });
  } else if (daysToEol <= LIMITS.doctor.runtimeEolWarnDays) {
    out.push({ severity: 'warning', subject: `node ${major} end of life`, summary: `Node.js ${version}: line ${major} reaches end of life on ${line.eol}, in ${daysToEol} days`, fix: `Plan the move: ${upgradeLts}` });
  }
  const newerSecurity = (line.securityReleases ?? []).filter((r) => semver.valid(r.version) && semver.gt(r.version, version)).sort((a, b) => semver.compare(a.version, b.version));
  if (newerSecurity.length > 0) {
    const last = newerSecurity.at(-1)!;
    out.push({
      severity: 'problem',
      subject: `node ${major} security release`,
      summary: `Node.js ${version}: ${newerSecurity.length} security release${newerSecurity.length > 1 ? 's' : ''} of line ${major} since (newest ${last.version} of ${last.date})`,
      evidence: newerSecurity.map((r) => `${r.version} (${r.date})${r.cves.length ? `: ${r.cves.join(', ')}` : ''}${r.summary ? ` — ${r.summary}` : ''}`),
      fix: `Install Node.js ${semver.gt(line.latest, last.version) ? line.latest : last.version} or newer and restart the server (a SIGTERM lets running transfers finish).`,
    });
  } else if (semver.valid(line.latest) && semver.lt(version, line.latest)) {
    out.push({ severity: 'warning', subject: `node ${major} behind`, summary: `Node.js ${version}: ${line.latest} is out (lifecycle data of ${lifecycle.date}); no security release in between is listed`, fix: `Install Node.js ${line.latest} at the next maintenance window and restart the server.` });
  }
  if (out.length === 0) {
    const phase = Date.parse(line.maintenanceFrom) <= now.getTime() ? `maintenance until ${line.eol}` : `supported until ${line.eol}`;
    out.push({ severity: 'ok', summary: `Node.js ${version} (OpenSSL ${process.versions.openssl ?? '?'}), line ${major}: ${phase}, newest release` });
  }
  return lines(id, 'runtime', out);
}

// ---------------------------------------------------------------- dependencies

const ADVISORY_SEVERITY: Record<OsvSeverity, DoctorSeverity> = { critical: 'problem', high: 'problem', medium: 'warning', low: 'warning', unknown: 'warning' };

function dependencyCheck(ctx: DoctorContext): DoctorFinding[] {
  const id = 'doctor.dependencies';
  let tree: InstalledTree;
  try {
    tree = ctx.tree();
  } catch (err) {
    return lines(id, 'dependencies', [{ severity: 'warning', summary: `the installed dependency tree cannot be read: ${(err as Error).message}`, fix: 'Reinstall Portcullis with npm (npm ci writes node_modules/.package-lock.json).' }]);
  }
  const hits = matchInstalled(ctx.advisories, tree.packages);
  const out: Line[] = hits.map(({ advisory: a, pkg, fixedIn }) => {
    let severity = ADVISORY_SEVERITY[a.severity];
    let reach = 'reachability unknown';
    if (pkg.dev) {
      // SECURITY: a development dependency is on disk but never loaded by the server; still listed.
      severity = severity === 'problem' ? 'warning' : severity;
      reach = 'development dependency (build and test only): not loaded by the server';
    }
    if (a.reachability) {
      reach = `${a.reachability.reachable ? 'reachable' : 'not reachable'} in Portcullis: ${a.reachability.note}`;
      if (!a.reachability.reachable) severity = 'info';
    }
    const via = pkg.dependents.length ? `; pulled in by ${pkg.dependents.slice(0, 5).join(', ')}${pkg.dependents.length > 5 ? ' …' : ''}` : '';
    const direct = pkg.dependents.includes('(portcullis)');
    const how = fixedIn
      ? direct
        ? `Update ${pkg.name} to ${fixedIn} or newer (npm install ${pkg.name}@^${fixedIn}, or update Portcullis), run the tests, restart the server.`
        : `Update to ${pkg.name} ${fixedIn} or newer: \`npm update ${pkg.name}\` in the install folder (or update Portcullis, or the package that pulls it in), then restart the server.`
      : `No fixed version is listed: remove or replace ${pkg.name}, or follow ${a.url ?? a.id}.`;
    return {
      severity,
      subject: `${pkg.name}@${pkg.version} ${a.id}`,
      summary: `${pkg.name} ${pkg.version}: ${a.id}${a.aliases.length ? ` (${a.aliases.join(', ')})` : ''}, ${a.severity}: ${a.summary}`,
      evidence: [`installed at ${pkg.location}${via}`, reach, ...(fixedIn ? [`fixed in ${fixedIn}`] : []), ...(a.url ? [a.url] : [])],
      fix: how,
    };
  });
  if (out.length === 0) {
    out.push({ severity: 'ok', summary: `${tree.packages.length} installed packages (${path.basename(tree.file)}), none under any of ${ctx.advisories.advisories.length} npm advisories (data of ${ctx.advisories.date})` });
  }
  return lines(id, 'dependencies', out);
}

// ---------------------------------------------------------------- certificates

function pemCertificates(pem: string): X509Certificate[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

/** Weaknesses of one certificate: key size, curve, signature hash. */
export function certificateWeaknesses(cert: X509Certificate): { severity: DoctorSeverity; what: string }[] {
  const out: { severity: DoctorSeverity; what: string }[] = [];
  const key = cert.publicKey;
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss' || key.asymmetricKeyType === 'dsa') {
    const bits = d.modulusLength ?? 0;
    if (key.asymmetricKeyType === 'dsa') out.push({ severity: 'problem', what: `DSA-${bits} key (no TLS 1.3 client accepts DSA)` });
    else if (bits < 2048) out.push({ severity: 'problem', what: `RSA-${bits} key (below 2048 bits: breakable, refused by current clients)` });
  } else if (key.asymmetricKeyType === 'ec' && d.namedCurve && !['prime256v1', 'secp384r1', 'secp521r1', 'P-256', 'P-384', 'P-521'].includes(d.namedCurve)) {
    out.push({ severity: 'warning', what: `EC key on curve ${d.namedCurve} (clients expect P-256 or P-384)` });
  }
  const sig = (cert.signatureAlgorithm ?? '').toLowerCase();
  if (/md5|md2|sha1(?!\d)|sha-1/.test(sig) && cert.subject !== cert.issuer) out.push({ severity: 'problem', what: `signed with ${cert.signatureAlgorithm} (a broken hash: clients refuse it)` });
  return out;
}

function certificateFile(file: string, what: string, ctx: DoctorContext, fix: string): Line[] {
  let certs: X509Certificate[];
  try {
    certs = pemCertificates(readFileSync(file, 'utf8'));
  } catch (err) {
    return [{ severity: 'problem', subject: file, summary: `${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, fix }];
  }
  if (certs.length === 0) return [{ severity: 'problem', subject: file, summary: `${what} ${file} holds no PEM certificate`, fix }];
  const out: Line[] = [];
  certs.forEach((cert, i) => {
    const name = `${i === 0 ? what : `chain certificate ${i}`} (${cert.subject.replace(/\n/g, ', ')})`;
    const days = Math.floor((Date.parse(cert.validTo) - ctx.now.getTime()) / DAY);
    const subject = `${file}#${i}`;
    if (days < 0) out.push({ severity: 'problem', subject: `${subject} expiry`, summary: `${name} expired on ${cert.validTo}`, fix });
    else if (days <= LIMITS.doctor.certificateProblemDays) out.push({ severity: 'problem', subject: `${subject} expiry`, summary: `${name} expires on ${cert.validTo}, in ${days} days`, fix });
    else if (days <= LIMITS.doctor.certificateWarnDays) out.push({ severity: 'warning', subject: `${subject} expiry`, summary: `${name} expires on ${cert.validTo}, in ${days} days`, fix });
    if (Date.parse(cert.validFrom) > ctx.now.getTime()) out.push({ severity: 'problem', subject: `${subject} not yet valid`, summary: `${name} is valid only from ${cert.validFrom} (or this clock is behind)`, fix: 'Check the clock (doctor.clockUrl), or install a certificate valid now.' });
    for (const w of certificateWeaknesses(cert)) out.push({ severity: w.severity, subject: `${subject} strength`, summary: `${name}: ${w.what}`, fix: `Replace it: ${fix}` });
  });
  if (out.length === 0) {
    const leaf = certs[0]!;
    const d = leaf.publicKey.asymmetricKeyDetails ?? {};
    const kind = leaf.publicKey.asymmetricKeyType === 'ec' ? `ECDSA ${d.namedCurve ?? ''}`.trim() : `${leaf.publicKey.asymmetricKeyType?.toUpperCase()}-${d.modulusLength ?? '?'}`;
    out.push({ severity: 'ok', subject: file, summary: `${what} ${file}: ${kind}, ${leaf.signatureAlgorithm ?? 'signature'}, valid until ${leaf.validTo} (${Math.floor((Date.parse(leaf.validTo) - ctx.now.getTime()) / DAY)} days)${certs.length > 1 ? `, chain of ${certs.length}` : ''}` });
  }
  return out;
}

function certificateCheck(ctx: DoctorContext): DoctorFinding[] {
  const id = 'doctor.certificates';
  const { config } = ctx;
  const certFile = config.tls.certFile ?? path.join(config.dataDir, 'tls', 'cert.pem');
  const keyFile = config.tls.keyFile ?? path.join(config.dataDir, 'tls', 'key.pem');
  const renew = config.tls.certFile
    ? 'Install a renewed certificate at tls.certFile / tls.keyFile (at least RSA-2048 or ECDSA P-256, signed with SHA-256) and send the server SIGHUP: it reloads without dropping sessions.'
    : `Move ${certFile} and ${keyFile} aside and restart the server: it generates a new self-signed ECDSA P-256 certificate (clients that pinned the old one must pin the new one); or install a CA-issued one with tls.certFile / tls.keyFile.`;
  const out: Line[] = [];
  if (!existsSync(certFile)) {
    out.push(config.tls.certFile ? { severity: 'problem', subject: certFile, summary: `tls.certFile ${certFile} does not exist: the server will not start`, fix: renew } : { severity: 'info', subject: certFile, summary: `no TLS certificate yet: the server generates ${certFile} at first start` });
  } else {
    out.push(...certificateFile(certFile, 'TLS certificate', ctx, renew));
    if (existsSync(keyFile)) {
      try {
        const leaf = pemCertificates(readFileSync(certFile, 'utf8'))[0];
        if (leaf && !leaf.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) out.push({ severity: 'problem', subject: `${keyFile} pair`, summary: `${keyFile} is not the private key of ${certFile}: FTPS handshakes fail`, fix: renew });
      } catch {
        // unreadable key: the permissions check names it; a bad PEM shows at start
      }
    }
  }
  if (config.mfa.clientCaFile) out.push(...certificateFile(config.mfa.clientCaFile, 'client CA (mfa.clientCaFile)', ctx, 'Renew the client CA, reissue the users’ client certificates from it, and update mfa.clientCaFile.'));
  return lines(id, 'certificates', out);
}


// ---------------------------------------------------------------- host keys

/** Key type and size of an OpenSSH public key line (`ssh-rsa AAAA…`). */
export function describeSshPublicKey(line: string): { type: string; bits: number } | null {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64) return null;
  const blob = Buffer.from(b64, 'base64');
  const fields: Buffer[] = [];
  let off = 0;
  while (off + 4 <= blob.length && fields.length < 6) {
    const len = blob.readUInt32BE(off);
    if (off + 4 + len > blob.length) return null;
    fields.push(blob.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  const strip = (b: Buffer) => {
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return (b.length - i) * 8 - (i < b.length ? Math.clz32(b[i]!) - 24 : 0);
  };
  if (type === 'ssh-rsa') return { type, bits: fields[2] ? strip(fields[2]) : 0 };
  if (type === 'ssh-dss') return { type, bits: fields[1] ? strip(fields[1]) : 0 };
  if (type === 'ssh-ed25519') return { type, bits: 256 };
  const ec = /^ecdsa-sha2-nistp(\d+)$/.exec(type);
  if (ec) return { type, bits: Number(ec[1]) };
  return { type, bits: 0 };
}

function hostKeyCheck(ctx: DoctorContext): DoctorFinding[] {
  const id = 'doctor.host-keys';
  const dir = path.join(ctx.config.dataDir, 'ssh');
  const out: Line[] = [];
  const found: string[] = [];
  for (const name of ['ssh_host_ed25519_key', 'ssh_host_rsa_key']) {
    const file = path.join(dir, name);
    if (!existsSync(file)) {
      out.push({ severity: 'info', subject: file, summary: `${file} does not exist yet: the server generates it at first start` });
      continue;
    }
    let pub: { type: string; bits: number } | null;
    try {
      pub = describeSshPublicKey(readFileSync(`${file}.pub`, 'utf8'));
    } catch {
      pub = null;
    }
    if (!pub) {
      out.push({ severity: 'warning', subject: file, summary: `${file}.pub is missing or unreadable: type and size not checked`, fix: `Recreate it: ssh-keygen -y -f ${file} > ${file}.pub` });
      continue;
    }
    const regenerate = `Stop the server, move ${file} and ${file}.pub aside, start it (it generates ${name.includes('rsa') ? `RSA-${LIMITS.rsaHostKeyBits}` : 'Ed25519'}), and tell clients the new fingerprint.`;
    if (pub.type === 'ssh-dss') out.push({ severity: 'problem', subject: file, summary: `${file}: DSA host key (${pub.bits} bits), refused by OpenSSH since 7.0`, fix: regenerate });
    else if (pub.type === 'ssh-rsa' && pub.bits < 2048) out.push({ severity: 'problem', subject: file, summary: `${file}: RSA-${pub.bits} host key (below 2048 bits)`, fix: regenerate });
    else if (pub.type === 'ssh-rsa' && pub.bits < 3072) out.push({ severity: 'warning', subject: file, summary: `${file}: RSA-${pub.bits} host key (NIST SP 800-57: 3072 bits beyond 2030)`, fix: regenerate });
    else found.push(`${pub.type} ${pub.bits} bits`);
  }
  if (out.every((l) => l.severity === 'info') && found.length > 0) out.push({ severity: 'ok', summary: `host keys in ${dir}: ${found.join(', ')}` });
  return lines(id, 'host-keys', out);
}

// ---------------------------------------------------------------- permissions

interface Guarded {
  file: string;
  what: string;
  secret: boolean;
  dir?: boolean;
}

function guardedFiles(config: Config): Guarded[] {
  const d = config.dataDir;
  const list: Guarded[] = [
    { file: d, what: 'data directory', secret: true, dir: true },
    { file: path.join(d, 'tls'), what: 'TLS directory', secret: true, dir: true },
    { file: path.join(d, 'ssh'), what: 'SSH host key directory', secret: true, dir: true },
    { file: config.tls.keyFile ?? path.join(d, 'tls', 'key.pem'), what: 'TLS private key', secret: true },
    { file: path.join(d, 'ssh', 'ssh_host_ed25519_key'), what: 'SSH host key', secret: true },
    { file: path.join(d, 'ssh', 'ssh_host_rsa_key'), what: 'SSH host key', secret: true },
    { file: path.join(d, 'mfa.key'), what: 'MFA secret key', secret: true },
    { file: path.join(d, 'audit'), what: 'audit trail directory', secret: true, dir: true },
  ];
  if (config.store.driver === 'sqlite') list.push({ file: config.store.url ?? path.join(d, 'portcullis.db'), what: 'SQLite store (password hashes)', secret: true });
  return list;
}

function permissionCheck(ctx: DoctorContext, configFile: string | null): DoctorFinding[] {
  const id = 'doctor.permissions';
  const out: Line[] = [];
  const files = guardedFiles(ctx.config);
  const secretConfig = ctx.config.alerts.webhook.secret !== null || ctx.config.alerts.email.password !== null || /\/\/[^/@]+:[^/@]+@/.test(ctx.config.store.url ?? '');
  if (configFile && secretConfig) files.push({ file: configFile, what: 'configuration file (holds a secret)', secret: true });
  let checked = 0;
  for (const g of files) {
    let st;
    try {
      st = statSync(g.file);
    } catch {
      continue;
    }
    checked++;
    const mode = st.mode & 0o777;
    const octal = mode.toString(8).padStart(4, '0');
    const fix = `chmod ${g.dir ? '700' : '600'} ${g.file}${typeof process.getuid === 'function' && st.uid !== process.getuid() ? ` (and chown it to the server's account)` : ''}`;
    if (mode & 0o002) out.push({ severity: 'problem', subject: g.file, summary: `${g.what} ${g.file} is writable by every user (${octal})`, fix });
    // A readable secret file gives it away; a readable directory only lists names.
    else if (g.secret && mode & 0o004) out.push({ severity: g.dir ? 'warning' : 'problem', subject: g.file, summary: `${g.what} ${g.file} is ${g.dir ? 'listable' : 'readable'} by every user (${octal})`, fix });
    else if (mode & 0o020) out.push({ severity: 'warning', subject: g.file, summary: `${g.what} ${g.file} is writable by its group (${octal})`, fix });
    else if (g.secret && mode & 0o040) out.push({ severity: 'warning', subject: g.file, summary: `${g.what} ${g.file} is readable by its group (${octal})`, fix });
  }
  if (out.length === 0) out.push({ severity: 'ok', summary: `${checked} files and directories under ${ctx.config.dataDir} (keys, store, audit, MFA key${configFile && secretConfig ? ', configuration' : ''}): owner only` });
  return lines(id, 'permissions', out);
}

// ---------------------------------------------------------------- disk

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

async function diskCheck(ctx: DoctorContext): Promise<DoctorFinding[]> {
  const id = 'doctor.disk';
  const store = await ctx.store();
  const places = [{ dir: ctx.config.dataDir, what: 'data directory' }, ...store.homes.slice(0, LIMITS.doctor.maxHomes).map((h) => ({ dir: h, what: 'home' }))];
  // Users share filesystems: one line per filesystem (the first path names it).
  const seen = new Map<string, { dir: string; what: string; homes: number; stats: FsStats }>();
  const out: Line[] = [];
  for (const p of places) {
    if (!existsSync(p.dir)) continue;
    let stats: FsStats;
    try {
      stats = await ctx.statfs(p.dir);
    } catch (err) {
      out.push({ severity: 'not-checked', subject: p.dir, summary: `statfs ${p.dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      continue;
    }
    const key = `${statSync(p.dir).dev}`;
    const prior = seen.get(key);
    if (prior) prior.homes += p.what === 'home' ? 1 : 0;
    else seen.set(key, { ...p, homes: p.what === 'home' ? 1 : 0, stats });
  }
  const L = LIMITS.doctor;
  for (const fs of seen.values()) {
    const { bsize, blocks, bavail, files, ffree } = fs.stats;
    const free = bavail * bsize;
    const total = blocks * bsize;
    const pct = total > 0 ? (100 * bavail) / blocks : 100;
    const inodePct = files > 0 ? (100 * ffree) / files : 100;
    const name = `${fs.what} ${fs.dir}${fs.homes > (fs.what === 'home' ? 1 : 0) ? ` (and the filesystem of ${fs.homes} home${fs.homes > 1 ? 's' : ''})` : ''}`;
    const fix = 'Free space there (old uploads, rotated audit files under DATADIR/audit, logs) or grow the filesystem; a full disk fails uploads and stops the audit trail.';
    const severity: DoctorSeverity = pct < L.diskProblemPercent || free < L.diskProblemBytes || inodePct < L.diskProblemPercent ? 'problem' : pct < L.diskWarnPercent || free < L.diskWarnBytes || inodePct < L.diskWarnPercent ? 'warning' : 'ok';
    const summary = `${name}: ${gib(free)} free of ${gib(total)} (${pct.toFixed(1)}%), ${files > 0 ? `${inodePct.toFixed(1)}% inodes free` : 'inodes not counted'}`;
    out.push({ severity, subject: fs.dir, summary, ...(severity !== 'ok' && { fix }) });
  }
  if (out.length === 0) out.push({ severity: 'not-checked', summary: `${ctx.config.dataDir} does not exist yet` });
  return lines(id, 'disk', out);
}

// ---------------------------------------------------------------- clock

async function clockCheck(ctx: DoctorContext): Promise<DoctorFinding[]> {
  const id = 'doctor.clock';
  const url = ctx.config.doctor.clockUrl;
  if (!url) {
    return lines(id, 'clock', [{ severity: 'not-checked', summary: 'clock skew not checked: no doctor.clockUrl configured (TOTP codes fail once the clock is off by more than 30 s)', fix: 'Set doctor.clockUrl to an HTTP(S) server you trust (its Date header is the reference), and keep NTP (chrony, systemd-timesyncd) running.' }]);
  }
  let ref: { date: Date; rttMs: number };
  try {
    ref = await ctx.clockReference(url);
  } catch (err) {
    return lines(id, 'clock', [{ severity: 'warning', subject: url, summary: `clock reference ${url} did not answer with a Date header: ${(err as Error).message}`, fix: 'Check doctor.clockUrl and the network path to it.' }]);
  }
  // The Date header has one-second resolution and was stamped somewhere within the round trip.
  const skew = ctx.now.getTime() - ref.date.getTime();
  const slack = 1000 + ref.rttMs / 2;
  const off = Math.max(0, Math.abs(skew) - slack);
  const L = LIMITS.doctor;
  const severity: DoctorSeverity = off >= L.clockProblemMs ? 'problem' : off >= L.clockWarnMs ? 'warning' : 'ok';
  const dir = skew > 0 ? 'ahead of' : 'behind';
  return lines(id, 'clock', [
    {
      severity,
      subject: url,
      summary: `this clock is ${(Math.abs(skew) / 1000).toFixed(1)} s ${dir} ${url} (±${(slack / 1000).toFixed(1)} s)`,
      ...(severity !== 'ok' && { fix: 'Synchronise the clock (chronyc makestep, or timedatectl set-ntp true) and keep NTP running: TOTP accepts codes from one 30 s step either side.' }),
    },
  ]);
}

// ---------------------------------------------------------------- store

async function storeCheck(ctx: DoctorContext): Promise<DoctorFinding[]> {
  const id = 'doctor.store';
  const s = await ctx.store();
  if (!s.reachable && s.missing) {
    return lines(id, 'store', [{ severity: 'warning', subject: 'reachability', summary: `the SQLite store ${s.where} does not exist yet: the server has never started with this data directory`, fix: 'Start the server (it creates the database), or check dataDir and store.url.' }]);
  }
  if (!s.reachable) {
    return lines(id, 'store', [{ severity: 'problem', subject: 'reachability', summary: `the ${ctx.config.store.driver} store ${s.where} cannot be opened: ${s.error ?? 'unknown error'}`, fix: ctx.config.store.driver === 'sqlite' ? 'Start the server once (it creates the database), or check store.url and the file permissions.' : 'Check that PostgreSQL is up and store.url (host, port, database, user, password) is right; the server cannot authenticate anyone without it.' }]);
  }
  const out: Line[] = [];
  if (s.unknown.length) out.push({ severity: 'problem', subject: 'schema newer', summary: `the database has migrations this Portcullis does not know: ${s.unknown.join(', ')} (a newer version ran on it)`, fix: 'Upgrade this node to the version the other nodes run; an older server must not write to a newer schema.' });
  if (s.pending.length) out.push({ severity: 'warning', subject: 'pending migrations', summary: `${s.pending.length} migration${s.pending.length > 1 ? 's' : ''} pending: ${s.pending.join(', ')}`, fix: 'Restart the server: it applies pending migrations at start (back the database up first; in a cluster, upgrade every node).' });
  if (out.length === 0) out.push({ severity: 'ok', summary: `${ctx.config.store.driver} store ${s.where}: reachable, schema current (${s.applied.length} migrations, last ${s.applied.at(-1) ?? '-'})` });
  return lines(id, 'store', out);
}

// ---------------------------------------------------------------- configuration lint

/** Posture's judgements of the configuration alone (the others need the running server). */
export const CONFIG_LINT_FROM_POSTURE = [
  'posture.plaintext-ftp',
  'posture.ssh-legacy-algorithms',
  'posture.ftps-data-session-reuse',
  'posture.mfa-not-required',
  'posture.defender-off',
  'posture.defender-safelist-broad',
  'posture.connection-rate-off',
  'posture.metrics-exposed',
  'posture.audit-off',
  'posture.metrics-off',
  'posture.alerts-no-destination',
  'posture.log-level',
] as const;

const POSTURE_SEVERITY: Record<string, DoctorSeverity> = { info: 'info', low: 'warning', medium: 'warning', high: 'problem', critical: 'problem' };

/** Doctor's own lint rows: settings that weaken a layer and that posture does not judge. */
const EXTRA_LINT: { key: string; weakens: string; severity: DoctorSeverity; when(c: Config): string | null; fix: string }[] = [
  {
    key: 'alerts.webhook.url',
    weakens: 'monitoring',
    severity: 'warning',
    when: (c) => (c.alerts.webhook.url?.startsWith('http:') ? `${c.alerts.webhook.url.replace(/\/\/[^@/]*@/, '//***@')}: alerts (user names, addresses) cross the network in clear (signed, but readable)` : null),
    fix: 'Use an https:// webhook URL.',
  },
  {
    key: 'alerts.email.requireTLS',
    weakens: 'monitoring',
    severity: 'warning',
    when: (c) => (c.alerts.email.host && !['localhost', '127.0.0.1', '::1'].includes(c.alerts.email.host) && !c.alerts.email.secure && !c.alerts.email.requireTLS ? 'false with alerts.email.secure false: alert mail (and the SMTP password) may be sent without TLS' : null),
    fix: 'Set alerts.email.requireTLS: true (the default), or alerts.email.secure: true for port 465.',
  },
  {
    key: 'defender.scores',
    weakens: 'access restriction',
    severity: 'warning',
    when: (c) => (c.defender.enabled && c.defender.scores.wrongPassword === 0 && c.defender.scores.unknownUser === 0 ? 'wrongPassword and unknownUser are both 0: password guessing is never banned' : null),
    fix: 'Restore defender.scores.wrongPassword (1) and unknownUser (2).',
  },
  {
    key: 'mfa.lockoutFailures',
    weakens: 'MFA',
    severity: 'warning',
    when: (c) => (c.mfa.lockoutFailures > 10 ? `${c.mfa.lockoutFailures}: more one-time codes may be guessed before the user is locked` : null),
    fix: 'Set mfa.lockoutFailures to 5 (the default) or fewer.',
  },
  {
    key: 'doctor.schedule',
    weakens: 'patching',
    severity: 'info',
    when: (c) => (c.doctor.schedule === null ? 'null: the server never runs doctor, and nobody is alerted when a runtime or dependency needs patching' : null),
    fix: 'Set doctor.schedule (default "17 4 * * *"), or run `portcullis doctor` from cron or your monitoring.',
  },
];

function configurationCheck(ctx: DoctorContext): DoctorFinding[] {
  const id = 'doctor.configuration';
  const { config } = ctx;
  const snapshot = { config, users: { total: 0, disabled: 0, needMfa: 0, withoutMfa: 0, exempt: [], notEnrolled: [] } } as unknown as PostureSnapshot;
  const out: Line[] = [];
  for (const check of POSTURE_CHECKS) {
    if (!(CONFIG_LINT_FROM_POSTURE as readonly string[]).includes(check.id)) continue;
    const v = check.evaluate({ snapshot, lifecycle: ctx.lifecycle, now: ctx.now });
    if (v.status !== 'fail') continue;
    const evidence = check.id === 'posture.mfa-not-required' ? ['mfa.required: false'] : v.evidence;
    out.push({ severity: POSTURE_SEVERITY[v.severity ?? check.severity]!, subject: check.id, summary: `${check.title} (${check.layer}): ${evidence.join('; ')}`, fix: v.fix ?? check.fix });
  }
  for (const row of EXTRA_LINT) {
    const why = row.when(config);
    if (why) out.push({ severity: row.severity, subject: row.key, summary: `${row.key}: ${why} (weakens ${row.weakens})`, fix: row.fix });
  }
  if (out.length === 0) out.push({ severity: 'ok', summary: `${CONFIG_LINT_FROM_POSTURE.length + EXTRA_LINT.length} settings that weaken a layer: none set` });
  return lines(id, 'configuration', out);
}

// ---------------------------------------------------------------- data age

function dataCheck(ctx: DoctorContext): DoctorFinding[] {
  const id = 'doctor.data-age';
  const out: Line[] = [];
  for (const [what, file, date, flag] of [
    ['Node.js lifecycle data', ctx.lifecycle.file, ctx.lifecycle.date, '--lifecycle'],
    ['dependency advisories', ctx.advisories.file, ctx.advisories.date, '--advisories'],
  ] as const) {
    const days = Math.floor((ctx.now.getTime() - Date.parse(date)) / DAY);
    if (!Number.isFinite(days)) out.push({ severity: 'warning', subject: what, summary: `${what} (${file}) carry no date`, fix: `Pass dated data with ${flag} FILE.` });
    else if (days > LIMITS.doctor.dataMaxAgeDays) out.push({ severity: 'warning', subject: what, summary: `${what} of ${date} (${days} days old): newer releases and advisories are not known`, fix: `Update Portcullis, or pass newer data with ${flag} FILE (doctor.${flag === '--lifecycle' ? 'lifecycleFile' : 'advisoriesFile'} for the server's daily run).` });
  }
  if (out.length === 0) out.push({ severity: 'ok', summary: `lifecycle data of ${ctx.lifecycle.date}, advisories of ${ctx.advisories.date}` });
  return lines(id, 'data', out);
}

export function doctorChecks(configFile: string | null): DoctorCheck[] {
  return [
    { id: 'doctor.runtime', area: 'runtime', title: 'Node.js runtime', run: runtimeCheck },
    { id: 'doctor.dependencies', area: 'dependencies', title: 'Installed dependencies against advisories', run: dependencyCheck },
    { id: 'doctor.certificates', area: 'certificates', title: 'Certificates: expiry and strength', run: certificateCheck },
    { id: 'doctor.host-keys', area: 'host-keys', title: 'SSH host keys: types and sizes', run: hostKeyCheck },
    { id: 'doctor.permissions', area: 'permissions', title: 'Permissions of the data directory and secrets', run: (ctx) => permissionCheck(ctx, configFile) },
    { id: 'doctor.disk', area: 'disk', title: 'Free space under the data directory and homes', run: diskCheck },
    { id: 'doctor.clock', area: 'clock', title: 'Clock skew', run: clockCheck },
    { id: 'doctor.store', area: 'store', title: 'Store reachability and migrations', run: storeCheck },
    { id: 'doctor.configuration', area: 'configuration', title: 'Settings that weaken a layer', run: configurationCheck },
    { id: 'doctor.data-age', area: 'data', title: 'Age of the lifecycle and advisory data', run: dataCheck },
  ];
}
