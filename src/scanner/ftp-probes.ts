// FTP/FTPS probes: checks 1-18 (FTP part), 40, 41, 44. Parse, decide, report.
import { randomBytes } from 'node:crypto';
import { identifyFtp, type ProductInfo } from './banner.ts';
import type { TargetScan } from './context.ts';
import { errorMessage, ScanError } from './errors.ts';
import { FtpConnection, formatReply, parsePasv, passiveList, passiveStore, type FtpReply } from './ftp-client.ts';
import { LIMITS } from './limits.ts';
import { checkAdvisories, checkExposure, checkVersionDisclosure, DEFAULT_CREDENTIALS } from './service-checks.ts';
import { compareVersions } from './version.ts';

export const FTP_INTRUSIVE_CHECKS = ['auth.default-credentials', 'auth.no-bruteforce-protection'] as const;

export const FTP_CHECKS = [
  'ftp.cleartext-only', 'ftp.tls-optional-login', 'ftp.tls-optional-data', 'ftp.ccc-allowed',
  'ftp.anonymous-login', 'ftp.anonymous-read', 'ftp.anonymous-write', 'ftp.bounce',
  'ftp.pasv-address-leak', 'ftp.syst-disclosure', 'ftp.user-enumeration', 'ftp.iis-exposed',
  'ftp.iis-known-cves', 'ftp.vsftpd-backdoor', 'ftp.proftpd-backdoor', 'ftp.proftpd-modcopy-unauth',
  'ftp.proftpd-telnet-iac', 'ftp.libopie', 'svc.version-disclosure', 'svc.vulnerable-version',
  'svc.exposed-service',
] as const;

const ANON_PASSWORD = 'scanner@portcullis.invalid';

export interface FtpSession {
  conn: FtpConnection;
  greeting: FtpReply;
  /** TLS protects the data channel (PBSZ 0 + PROT P accepted). */
  protectedData: boolean;
  release: () => void;
}

/** Open a control connection to the target, optionally securing it with AUTH TLS (explicit). */
export async function openFtp(s: TargetScan, secure: boolean): Promise<FtpSession> {
  const release = await s.budget.acquire();
  try {
    const implicit = s.target.scheme === 'ftps';
    const { conn, greeting } = await FtpConnection.connect({
      host: s.target.host,
      port: s.target.port,
      implicitTls: implicit,
      timeoutMs: s.options.timeoutMs,
      signal: s.signal,
    });
    conn.socket.once('close', release);
    if (secure && !implicit) {
      let r = await conn.cmd('AUTH TLS');
      if (r.code !== 234) r = await conn.cmd('AUTH SSL');
      if (r.code !== 234) {
        conn.close();
        throw new ScanError('ERR_SCAN_PROTOCOL', `AUTH TLS refused: ${formatReply(r)}`);
      }
      await conn.upgrade();
    }
    return { conn, greeting, protectedData: false, release };
  } catch (err) {
    release();
    throw err;
  }
}

async function protect(sess: FtpSession): Promise<void> {
  if (!sess.conn.secure) return;
  const pbsz = await sess.conn.cmd('PBSZ 0');
  const prot = await sess.conn.cmd('PROT P');
  sess.protectedData = pbsz.code === 200 && prot.code === 200;
}

async function login(sess: FtpSession, user: string, pass: string): Promise<{ ok: boolean; replies: FtpReply[] }> {
  const u = await sess.conn.cmd(`USER ${user}`);
  if (u.code === 230) return { ok: true, replies: [u] };
  if (u.code !== 331 && u.code !== 332) return { ok: false, replies: [u] };
  const p = await sess.conn.cmd(`PASS ${pass}`);
  return { ok: p.code === 230 || p.code === 202, replies: [u, p] };
}

function randomName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** Address for the bounce test: never the client's own, never routable to a third party. */
export function bounceAddress(localAddress: string): string {
  // SECURITY: a loopback peer gets another loopback address; anything else gets TEST-NET-1
  // (RFC 5737), which is not routed. No data command ever follows the PORT anyway.
  if (localAddress.startsWith('127.')) return localAddress === '127.0.0.2' ? '127.0.0.3' : '127.0.0.2';
  return '192.0.2.1';
}

function bannerChecks(s: TargetScan, greeting: FtpReply, syst: FtpReply | undefined): ProductInfo | undefined {
  const text = greeting.lines.join(' ');
  const info = identifyFtp(text);
  checkExposure(s, formatReply(greeting));
  checkVersionDisclosure(s, info, 'FTP greeting', formatReply(greeting));
  checkAdvisories(s, info, formatReply(greeting));

  const systWindows = syst?.code === 215 && /windows/i.test(syst.text);
  const iis = info?.product === 'Microsoft FTP Service' || systWindows;
  s.identified(info ?? (iis ? { product: 'Microsoft FTP Service' } : undefined));
  if (iis) {
    s.fail('ftp.iis-exposed', [`greeting: ${formatReply(greeting)}`, ...(syst ? [`SYST: ${formatReply(syst)}`] : [])]);
    const version = info?.product === 'Microsoft FTP Service' ? info.version : undefined;
    s.fail(
      'ftp.iis-known-cves',
      [
        version
          ? `banner shows IIS FTP version ${version}: IIS 5/6 FTP is affected by CVE-2009-3023, CVE-2009-2521, CVE-2010-3972, CVE-2012-2531, CVE-2012-2532 unless patched`
          : 'IIS FTP detected but its banner hides the version: verify the patch level (MS09-053, MS10-065/MS11-004, MS12-073) for CVE-2009-3023, CVE-2009-2521, CVE-2010-3972, CVE-2012-2531, CVE-2012-2532',
      ],
      { potential: true },
    );
  } else {
    s.pass('ftp.iis-exposed', `greeting is not Microsoft FTP Service: ${formatReply(greeting)}`);
    s.pass('ftp.iis-known-cves', 'not an IIS FTP endpoint');
  }

  const intrusiveNote = s.allowed('intrusive') ? 'intrusive confirmation: not implemented yet' : 'intrusive confirmation not run (--allow intrusive)';
  // 14: vsftpd 2.3.4 trojan
  if (info?.product === 'vsftpd' && info.version === '2.3.4') {
    s.fail('ftp.vsftpd-backdoor', [`greeting announces vsFTPd 2.3.4 (CVE-2011-2523): ${formatReply(greeting)}`, intrusiveNote], { potential: true });
  } else if (info?.product === 'vsftpd' && !info.version) {
    s.error('ftp.vsftpd-backdoor', 'vsftpd banner hides its version: check the installed version locally', 'not-testable');
  } else {
    s.pass('ftp.vsftpd-backdoor', `greeting does not announce vsFTPd 2.3.4`);
  }
  // 15, 17: ProFTPD
  if (info?.product === 'ProFTPD' && info.version) {
    const v = info.version;
    if (v.toLowerCase() === '1.3.3c') s.fail('ftp.proftpd-backdoor', [`greeting announces ProFTPD 1.3.3c (trojaned release): ${formatReply(greeting)}`, intrusiveNote], { potential: true });
    else s.pass('ftp.proftpd-backdoor', `ProFTPD ${v} is not 1.3.3c`);
    if (compareVersions(v, '1.3.2rc3') >= 0 && compareVersions(v, '1.3.3b') <= 0) {
      s.fail('ftp.proftpd-telnet-iac', [`greeting announces ProFTPD ${v}, within 1.3.2rc3-1.3.3b (CVE-2010-4221): ${formatReply(greeting)}`], { potential: true });
    } else s.pass('ftp.proftpd-telnet-iac', `ProFTPD ${v} is outside 1.3.2rc3-1.3.3b`);
  } else if (info?.product === 'ProFTPD') {
    s.error('ftp.proftpd-backdoor', 'ProFTPD banner hides its version: check the installed version locally', 'not-testable');
    s.error('ftp.proftpd-telnet-iac', 'ProFTPD banner hides its version: check the installed version locally', 'not-testable');
  } else {
    s.pass('ftp.proftpd-backdoor', 'greeting does not announce ProFTPD');
    s.pass('ftp.proftpd-telnet-iac', 'greeting does not announce ProFTPD');
  }
  // 18: FreeBSD ftpd with OPIE
  if (info?.product === 'FreeBSD ftpd') {
    s.fail('ftp.libopie', [`greeting matches FreeBSD ftpd (${formatReply(greeting)}); OPIE overflow CVE-2010-1938 unless FreeBSD-SA-10:05 is applied`, intrusiveNote], { potential: true });
  } else {
    s.pass('ftp.libopie', 'greeting does not match FreeBSD ftpd');
  }
  return info;
}

const GENERIC_SYST = /^UNIX Type: L8\.?$/i;

function checkSyst(s: TargetScan, syst: FtpReply | undefined, stat: FtpReply | undefined, phase: string): void {
  const evidence: string[] = [];
  if (syst?.code === 215 && !GENERIC_SYST.test(syst.text.trim())) evidence.push(`SYST ${phase}: ${formatReply(syst)}`);
  if (stat && (stat.code === 211 || stat.code === 212 || stat.code === 213)) {
    // The client's own address (often echoed by STAT) is not a version number.
    const withoutAddresses = (l: string) => l.replace(/\b\d{1,3}(\.\d{1,3}){3}\b|\[?[0-9a-f]*:[0-9a-f:.]+\]?/gi, '');
    const revealing = stat.lines.filter((l) => /\d+\.\d+|windows|linux|bsd|version|vsftpd|proftpd|pure-ftpd|serv-u|filezilla/i.test(withoutAddresses(l)));
    if (revealing.length) evidence.push(`STAT ${phase}: ${revealing.join(' | ')}`);
  }
  if (evidence.length) s.fail('ftp.syst-disclosure', evidence);
  else s.pass('ftp.syst-disclosure', `SYST/STAT ${phase}: ${[syst, stat].filter(Boolean).map((r) => formatReply(r!)).join(' ; ') || 'no answer'}`);
}

/**
 * A version in STAT counts as disclosed when anyone can read it: before login, or after an
 * anonymous login. After a login with the operator's own credentials only account holders see it
 * (vsftpd prints its version there and no setting removes it): noted, not a finding.
 */
function checkStatVersion(s: TargetScan, stat: FtpReply | undefined, phase: string, seenBy: 'anyone' | 'account holders'): void {
  if (!stat || stat.code < 200 || stat.code > 299) return;
  const info = identifyFtp(stat.lines.join(' '));
  s.identified(info);
  if (!info?.version) return;
  const line = `STAT ${phase} shows ${info.product} ${info.version}: ${stat.lines.join(' | ')}`;
  if (seenBy === 'anyone') s.fail('svc.version-disclosure', [line]);
  else s.note('svc.version-disclosure', `${line} (seen by account holders only: not counted as a disclosure)`);
}

export async function scanFtp(s: TargetScan): Promise<void> {
  for (const id of FTP_CHECKS) s.implemented.add(id);
  if (s.allowed('intrusive')) for (const id of FTP_INTRUSIVE_CHECKS) s.implemented.add(id);
  const implicit = s.target.scheme === 'ftps';
  // Phase 1: greeting, FEAT, SYST, STAT, SITE CPFR, AUTH TLS on one connection.
  let first: FtpSession;
  try {
    first = await openFtp(s, false);
  } catch (err) {
    const msg = errorMessage(err);
    s.pass('svc.exposed-service', `no FTP service reachable at ${s.target.host}:${s.target.port}: ${msg}`);
    s.errorAll(FTP_CHECKS, `target not reachable: ${msg}`, 'unreachable');
    if (s.allowed('intrusive')) s.errorAll(FTP_INTRUSIVE_CHECKS, `target not reachable: ${msg}`, 'unreachable');
    return;
  }
  s.reachable = true;
  s.tlsAvailable = implicit;
  const conn = first.conn;
  s.banner = first.greeting.lines.join('\n');
  try {
    const feat = await conn.cmd('FEAT');
    const syst = await conn.cmd('SYST');
    const stat = await conn.cmd('STAT');
    bannerChecks(s, first.greeting, syst);
    checkSyst(s, syst, stat, 'before login');
    checkStatVersion(s, stat, 'before login', 'anyone');

    // 16: ProFTPD mod_copy before login. SECURITY: CPFR only (names a source); never CPTO.
    const cpfr = await conn.cmd('SITE CPFR /etc/passwd');
    if (cpfr.code === 350) s.fail('ftp.proftpd-modcopy-unauth', [`SITE CPFR before login answered ${formatReply(cpfr)} (CVE-2015-3306: unauthenticated file copy)`]);
    else s.pass('ftp.proftpd-modcopy-unauth', `SITE CPFR before login refused: ${formatReply(cpfr)}`);

    // 1: TLS at all? Always try AUTH TLS, whatever FEAT says.
    const featAuth = feat.code === 211 ? feat.lines.filter((l) => /\bAUTH\b/i.test(l)).map((l) => l.trim()) : [];
    const featNote = feat.code === 211 ? (featAuth.length ? `FEAT lists ${featAuth.join(', ')}` : 'FEAT lacks AUTH TLS') : `FEAT: ${formatReply(feat)}`;
    if (implicit) {
      s.pass('ftp.cleartext-only', 'implicit FTPS: the whole session is inside TLS');
    } else {
      const auth = await conn.cmd('AUTH TLS');
      let authSsl: FtpReply | undefined;
      if (auth.code !== 234) authSsl = await conn.cmd('AUTH SSL');
      if (auth.code === 234 || authSsl?.code === 234) {
        s.tlsAvailable = true;
        s.pass('ftp.cleartext-only', featNote, `AUTH TLS: ${formatReply(auth)}`, ...(authSsl ? [`AUTH SSL: ${formatReply(authSsl)}`] : []));
      } else {
        s.fail('ftp.cleartext-only', [featNote, `AUTH TLS: ${formatReply(auth)}`, ...(authSsl ? [`AUTH SSL: ${formatReply(authSsl)}`] : [])]);
      }
    }
  } catch (err) {
    s.errorAll(['ftp.cleartext-only', 'ftp.proftpd-modcopy-unauth', 'ftp.syst-disclosure'], `probe failed: ${errorMessage(err)}`);
  } finally {
    conn.close();
  }

  const secure = s.tlsAvailable;
  const tasks: Promise<void>[] = [];

  // 2: credentials accepted in clear although TLS is offered?
  if (implicit) s.notApplicable('ftp.tls-optional-login', 'implicit FTPS has no cleartext phase');
  else if (!secure) s.notApplicable('ftp.tls-optional-login', 'the server offers no TLS at all (see ftp.cleartext-only)');
  else tasks.push(probeCleartextLogin(s));

  tasks.push(probeUserEnumeration(s, secure));
  tasks.push(probeSessions(s, secure));
  await Promise.all(tasks);
  // Intrusive: only with --allow intrusive, after everything else.
  if (s.allowed('intrusive')) {
    await probeBruteForceProtection(s, secure);
    await probeDefaultCredentials(s, secure);
  }
}


/** 43: repeated bad passwords on one connection; a disconnect or a growing delay is protection. */
async function probeBruteForceProtection(s: TargetScan, secure: boolean): Promise<void> {
  const id = 'auth.no-bruteforce-protection';
  const attempts = 6;
  const evidence: string[] = [];
  try {
    const sess = await openFtp(s, secure);
    try {
      const user = randomName('pcscan');
      const times: number[] = [];
      let asked = false;
      for (let i = 1; i <= attempts; i++) {
        const t0 = Date.now();
        let r: FtpReply;
        try {
          const u = await sess.conn.cmd(`USER ${user}`);
          if (u.code === 331) asked = true;
          r = u.code === 331 ? await sess.conn.cmd(`PASS ${randomBytes(9).toString('base64url')}`) : u;
        } catch (err) {
          s.pass(id, `connection closed after ${i - 1} failed login(s): ${errorMessage(err)}`, ...evidence);
          return;
        }
        times.push(Date.now() - t0);
        evidence.push(`attempt ${i}: ${formatReply(r)} (${times[times.length - 1]} ms)`);
        if (r.code === 421) {
          s.pass(id, `server ended the session after ${i} failed login(s)`, ...evidence);
          return;
        }
      }
      // A server that refuses every USER without asking for a password (anonymous-only, or a
      // closed user list) gives nothing to guess: there is no finding to show.
      if (!asked) {
        s.notApplicable(id, `the server never asked for a password (${evidence[0] ?? 'USER refused'}), so there is nothing to guess`);
        return;
      }
      const first = times[0]!;
      const last = times[times.length - 1]!;
      if (last >= 1000 && last > 2 * Math.max(first, 100)) s.pass(id, `growing delay: ${first} ms → ${last} ms`, ...evidence);
      else s.fail(id, [`${attempts} consecutive failed logins on one connection without disconnect, lockout or growing delay`, ...evidence]);
    } finally {
      sess.conn.close();
    }
  } catch (err) {
    s.error(id, `probe failed: ${errorMessage(err)}`, 'probe-failed', evidence);
  }
}

/** 42: a handful of vendor/default pairs, one connection each, strictly bounded. */
async function probeDefaultCredentials(s: TargetScan, secure: boolean): Promise<void> {
  const id = 'auth.default-credentials';
  const anonymousOpen = s.results.get('ftp.anonymous-login')?.status === 'fail';
  const found: string[] = [];
  const evidence: string[] = [];
  try {
    for (const [user, pass] of DEFAULT_CREDENTIALS) {
      // "ftp" is the anonymous alias: with anonymous login open it proves nothing.
      if (user === 'ftp' && anonymousOpen) continue;
      const sess = await openFtp(s, secure);
      try {
        const r = await login(sess, user, pass);
        evidence.push(`${user}/${'*'.repeat(pass.length)}: ${r.replies.map(formatReply).join(' ; ')}`);
        if (r.ok) found.push(user);
      } finally {
        await sess.conn.quit();
      }
    }
    if (found.length) s.fail(id, [`default credentials accepted for: ${found.join(', ')}`, ...evidence]);
    else s.pass(id, `${evidence.length} default pairs refused`, ...evidence);
  } catch (err) {
    s.error(id, `probe failed: ${errorMessage(err)}`, 'probe-failed', evidence);
  }
}

async function probeCleartextLogin(s: TargetScan): Promise<void> {
  const id = 'ftp.tls-optional-login';
  try {
    const sess = await openFtp(s, false);
    try {
      const r = await sess.conn.cmd(`USER ${randomName('pcscan')}`);
      if (r.code === 331 || r.code === 230 || r.code === 332) s.fail(id, [`USER before AUTH TLS answered ${formatReply(r)}: a client would now send its password in clear`]);
      else s.pass(id, `USER before AUTH TLS refused: ${formatReply(r)}`);
    } finally {
      await sess.conn.quit();
    }
  } catch (err) {
    s.error(id, `probe failed: ${errorMessage(err)}`);
  }
}

function normalise(r: FtpReply | undefined, user: string): string {
  if (!r) return '-';
  return `${r.code} ${r.text.split(user).join('<user>').replace(/\s+/g, ' ').trim()}`;
}

async function probeUserEnumeration(s: TargetScan, secure: boolean): Promise<void> {
  const id = 'ftp.user-enumeration';
  const names = [randomName('nx'), ...LIMITS.enumerationNames];
  try {
    const results = await Promise.all(
      names.map(async (user) => {
        const sess = await openFtp(s, secure);
        try {
          const u = await sess.conn.cmd(`USER ${user}`);
          let p: FtpReply | undefined;
          const t0 = Date.now();
          if (u.code === 331) p = await sess.conn.cmd(`PASS ${randomBytes(9).toString('base64url')}`);
          const ms = Date.now() - t0;
          return { user, sig: `${normalise(u, user)} / ${normalise(p, user)}`, ms };
        } finally {
          await sess.conn.quit();
        }
      }),
    );
    const [random, ...known] = results;
    const differing = known.filter((k) => k.sig !== random!.sig);
    const evidence = results.map((r) => `${r.user}: ${r.sig} (${r.ms} ms)`);
    if (differing.length) s.fail(id, [`replies differ between a random and a common user name`, ...evidence]);
    else s.pass(id, 'same replies for random and common user names', ...evidence);
  } catch (err) {
    s.error(id, `probe failed: ${errorMessage(err)}`);
  }
}

/** Anonymous session (5-10, 7 with --allow writes), then the credentialed TLS checks (3, 4). */
async function probeSessions(s: TargetScan, secure: boolean): Promise<void> {
  let anonOk = false;
  let anonUser = 'anonymous';
  try {
    const sess = await openFtp(s, secure);
    try {
      let r = await login(sess, 'anonymous', ANON_PASSWORD);
      if (!r.ok) {
        const r2 = await login(sess, 'ftp', ANON_PASSWORD);
        if (r2.ok) anonUser = 'ftp';
        r = { ok: r2.ok, replies: [...r.replies, ...r2.replies] };
      }
      anonOk = r.ok;
      const ev = r.replies.map(formatReply).join(' ; ');
      if (anonOk) s.fail('ftp.anonymous-login', [`anonymous login (${anonUser}) accepted${sess.conn.secure ? ' over TLS' : ''}: ${ev}`]);
      else {
        s.pass('ftp.anonymous-login', `anonymous login refused: ${ev}`);
        s.pass('ftp.anonymous-read', 'anonymous login refused');
        s.pass('ftp.anonymous-write', 'anonymous login refused');
      }
      if (anonOk) await loggedInProbes(s, sess, true);
    } finally {
      await sess.conn.quit();
    }
  } catch (err) {
    s.errorAll(['ftp.anonymous-login', 'ftp.anonymous-read', 'ftp.anonymous-write', 'ftp.pasv-address-leak', 'ftp.bounce'], `probe failed: ${errorMessage(err)}`);
  }

  const user = s.options.user;
  const password = s.options.password;
  if (!anonOk && user !== undefined && password !== undefined && !secure) {
    // SECURITY: the operator's credentials never cross the network in clear.
    s.errorAll(['ftp.pasv-address-leak', 'ftp.bounce'], 'refusing to send the --user credentials in clear: the server offers no TLS', 'needs-credentials');
  } else if (!anonOk && user !== undefined && password !== undefined) {
    try {
      const sess = await openFtp(s, secure);
      try {
        const r = await login(sess, user, password);
        if (r.ok) await loggedInProbes(s, sess, false);
        else s.errorAll(['ftp.pasv-address-leak', 'ftp.bounce'], `login as ${user} failed: ${r.replies.map(formatReply).join(' ; ')}`, 'needs-credentials');
      } finally {
        await sess.conn.quit();
      }
    } catch (err) {
      s.errorAll(['ftp.pasv-address-leak', 'ftp.bounce'], `probe failed: ${errorMessage(err)}`);
    }
  }
  s.errorAll(['ftp.pasv-address-leak', 'ftp.bounce'], 'needs a login: anonymous login refused and no --user/--password-stdin given', 'needs-credentials');

  // 3, 4: TLS-protected session, then try to weaken it.
  if (!secure) {
    s.notApplicable('ftp.tls-optional-data', 'the server offers no TLS at all (see ftp.cleartext-only)');
    s.notApplicable('ftp.ccc-allowed', 'the server offers no TLS at all (see ftp.cleartext-only)');
    return;
  }
  let creds: [string, string] | undefined;
  let note = '';
  if (user !== undefined && password !== undefined) creds = [user, password];
  else if (anonOk) {
    creds = [anonUser, ANON_PASSWORD];
    note = ' (using the anonymous login; give --user for the regular-user policy)';
  }
  if (!creds) {
    s.errorAll(['ftp.tls-optional-data', 'ftp.ccc-allowed'], 'needs credentials: give --user and --password-stdin', 'needs-credentials');
    return;
  }
  await probeTlsDowngrades(s, creds, note);
}

async function loggedInProbes(s: TargetScan, sess: FtpSession, anonymous: boolean): Promise<void> {
  const { conn } = sess;
  const uploadDirs: string[] = [];
  await protect(sess);
  // 9: the address PASV advertises (never connected to).
  try {
    const r = await conn.cmd('PASV');
    const pasv = r.code === 227 ? parsePasv(r) : undefined;
    if (pasv) {
      if (pasv.advertisedHost !== conn.remoteAddress) {
        s.fail('ftp.pasv-address-leak', [`PASV advertised ${pasv.advertisedHost} while the control connection goes to ${conn.remoteAddress}: ${formatReply(r)}`]);
      } else s.pass('ftp.pasv-address-leak', `PASV advertises the connected address: ${formatReply(r)}`);
    } else s.pass('ftp.pasv-address-leak', `PASV gives no address: ${formatReply(r)}`);
  } catch (err) {
    s.error('ftp.pasv-address-leak', `probe failed: ${errorMessage(err)}`);
  }
  // 6: passive listing (data always to the control peer).
  try {
    const list = await passiveList(conn, sess.protectedData);
    if (anonymous) {
      const entries = list.listing.split(/\r?\n/).filter((l) => l.trim() && !/^total \d+$/.test(l));
      uploadDirs.push(...candidateUploadDirs(entries));
      if (list.ok && entries.length) s.fail('ftp.anonymous-read', [`anonymous LIST returned ${entries.length} entries: ${entries.slice(0, 5).join(' | ')}`]);
      else if (list.ok) s.pass('ftp.anonymous-read', 'anonymous LIST succeeded but the root is empty');
      else s.pass('ftp.anonymous-read', `anonymous LIST refused: ${list.replies.map(formatReply).join(' ; ')}`);
    }
  } catch (err) {
    if (anonymous) s.error('ftp.anonymous-read', `probe failed: ${errorMessage(err)}`);
  }
  // 10 (after login)
  try {
    const syst = await conn.cmd('SYST');
    const stat = await conn.cmd('STAT');
    checkSyst(s, syst, stat, 'after login');
    checkStatVersion(s, stat, anonymous ? 'after an anonymous login' : 'after login', anonymous ? 'anyone' : 'account holders');
  } catch {
    // the pre-login result stands
  }
  // 7: writes, only when allowed. Creates then removes a probe directory / file.
  if (anonymous) {
    if (!s.allowed('writes')) s.error('ftp.anonymous-write', 'writes check: not run (rerun with --allow writes)', 'mode-not-allowed');
    else await probeAnonWrite(s, sess, uploadDirs);
  }
  // 8: bounce, last. SECURITY: no data command follows the PORT; QUIT comes next.
  try {
    const addr = bounceAddress(conn.localAddress);
    const r = await conn.cmd(`PORT ${addr.replace(/\./g, ',')},${(40000 >> 8) & 255},${40000 & 255}`);
    if (r.code === 200) s.fail('ftp.bounce', [`PORT to third-party address ${addr} accepted: ${formatReply(r)} (no data command was sent)`]);
    else {
      const e = await conn.cmd(`EPRT |1|${addr}|40000|`);
      if (e.code === 200) s.fail('ftp.bounce', [`EPRT to third-party address ${addr} accepted: ${formatReply(e)} (no data command was sent)`]);
      else s.pass('ftp.bounce', `PORT/EPRT to ${addr} refused: ${formatReply(r)} ; ${formatReply(e)}`);
    }
  } catch (err) {
    s.error('ftp.bounce', `probe failed: ${errorMessage(err)}`);
  }
}

/** Directories in a root listing that look like anonymous drop boxes (bounded). */
export function candidateUploadDirs(entries: string[]): string[] {
  const dirs: string[] = [];
  for (const e of entries) {
    const unix = /^d\S{9}\s+(?:\S+\s+){7}(.+)$/.exec(e);
    const dos = /<DIR>\s+(.+)$/i.exec(e);
    const name = (unix?.[1] ?? dos?.[1])?.trim();
    if (name && /^(upload|uploads|incoming|pub|public|drop|dropbox|tmp)$/i.test(name) && !/[\r\n/]/.test(name)) dirs.push(name);
  }
  return dirs.slice(0, 3);
}

async function probeAnonWrite(s: TargetScan, sess: FtpSession, uploadDirs: string[]): Promise<void> {
  const id = 'ftp.anonymous-write';
  const { conn } = sess;
  const evidence: string[] = [];
  let wrote = false;
  /** What the probe created and has not yet removed. */
  let created: string | undefined;
  try {
    for (const dir of ['', ...uploadDirs]) {
      const prefix = dir ? `${dir}/` : '';
      const sub = `${prefix}${randomName('pcscan-probe-')}`;
      const mkd = await conn.cmd(`MKD ${sub}`);
      evidence.push(`MKD ${sub}: ${formatReply(mkd)}`);
      if (mkd.code === 257) {
        wrote = true;
        created = `directory /${sub}`;
        const rmd = await conn.cmd(`RMD ${sub}`);
        created = undefined;
        evidence.push(`RMD ${sub}: ${formatReply(rmd)}`);
        if (rmd.code !== 250) s.leftover(`directory /${sub} (RMD: ${formatReply(rmd)})`);
      }
      const file = `${prefix}${randomName('pcscan-probe-')}.txt`;
      const st = await passiveStore(conn, sess.protectedData, file, Buffer.from('portcullis scan write probe; safe to delete\n'));
      evidence.push(`STOR ${file}: ${st.replies.map(formatReply).join(' ; ')}`);
      if (st.stored) {
        wrote = true;
        created = `file /${file}`;
        const dele = await conn.cmd(`DELE ${file}`);
        created = undefined;
        evidence.push(`DELE ${file}: ${formatReply(dele)}`);
        if (dele.code !== 250) s.leftover(`file /${file} (DELE: ${formatReply(dele)})`);
      }
      if (wrote) break;
    }
    if (wrote) s.fail(id, evidence);
    else s.pass(id, ...evidence);
  } catch (err) {
    if (created) s.leftover(`${created} (not removed: ${errorMessage(err)})`);
    if (wrote) s.fail(id, evidence);
    else s.error(id, `probe failed: ${errorMessage(err)}`, 'probe-failed', evidence);
  }
}

async function probeTlsDowngrades(s: TargetScan, [user, pass]: [string, string], note: string): Promise<void> {
  try {
    const sess = await openFtp(s, true);
    try {
      const r = await login(sess, user, pass);
      if (!r.ok) {
        s.errorAll(['ftp.tls-optional-data', 'ftp.ccc-allowed'], `login as ${user} over TLS failed: ${r.replies.map(formatReply).join(' ; ')}`, 'needs-credentials');
        return;
      }
      const pbsz = await sess.conn.cmd('PBSZ 0');
      const protC = await sess.conn.cmd('PROT C');
      if (protC.code !== 200) {
        s.pass('ftp.tls-optional-data', `PROT C refused${note}: ${formatReply(protC)}`);
      } else {
        const list = await passiveList(sess.conn, false);
        const ev = [`PBSZ 0: ${formatReply(pbsz)}`, `PROT C: ${formatReply(protC)}`, `LIST: ${list.replies.slice(-2).map(formatReply).join(' ; ')}`];
        if (list.ok) s.fail('ftp.tls-optional-data', [`clear data channel accepted after TLS login${note}`, ...ev]);
        else s.pass('ftp.tls-optional-data', `PROT C accepted but the clear transfer was refused${note}`, ...ev);
      }
      const ccc = await sess.conn.cmd('CCC');
      if (ccc.code === 200) s.fail('ftp.ccc-allowed', [`CCC accepted${note}: ${formatReply(ccc)}`]);
      else s.pass('ftp.ccc-allowed', `CCC refused${note}: ${formatReply(ccc)}`);
    } finally {
      sess.conn.close();
    }
  } catch (err) {
    s.errorAll(['ftp.tls-optional-data', 'ftp.ccc-allowed'], `probe failed: ${errorMessage(err)}`);
  }
}
