// Check 29 tls.known-vulns: Heartbleed, CCS injection, ROBOT, POODLE (SSLv3), DROWN (SSLv2),
// insecure renegotiation and Ticketbleed, each a small exchange over the raw record layer
// (tls-raw.ts), because Node's OpenSSL refuses to send any of these messages. One connection per
// sub-probe (two for Ticketbleed), all under the target's connection budget, timeout and deadline.
// Heuristics and limits are documented in docs/scanner.md ("Check 29").
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import net from 'node:net';
import type { TargetScan } from './context.ts';
import { errorMessage } from './errors.ts';
import { LIMITS } from './limits.ts';
import {
  BROAD_SUITES, CBC_SUITES, CONTENT, encodeClientHello, encodeRecord, encodeSsl2ClientHello, EXT, exchangeHello, ext, formatAlert,
  parseAlert, parseSsl2ServerHello, RawTlsConnection, SCSV_RENEGOTIATION, STATIC_RSA_SUITES, suiteName, VERSION, versionName,
  type Extension, type HelloOutcome, type ReadResult,
} from './tls-raw.ts';
import { rawTlsSocket } from './tls-transport.ts';
import type { CheckResult, SubProbeResult } from './types.ts';

const ID = 'tls.known-vulns';

/** The declared payload length of the Heartbleed request (testssl.sh and the original PoC use 0x4000). */
const HEARTBEAT_DECLARED = 0x4000;

const SUB = {
  heartbleed: { name: 'Heartbleed', cves: ['CVE-2014-0160'], fix: 'upgrade OpenSSL to 1.0.1g or later (any supported release), then replace the private key and certificate and revoke the old one: keys and passwords may have leaked' },
  ccs: { name: 'CCS injection', cves: ['CVE-2014-0224'], fix: 'upgrade OpenSSL to 0.9.8za / 1.0.0m / 1.0.1h or later (any supported release)' },
  robot: { name: 'ROBOT', cves: ['CVE-2017-13099', 'CVE-2017-6168', 'CVE-2017-17382', 'CVE-2017-17427', 'CVE-2017-1000385', 'CVE-2012-5081'], fix: 'remove static-RSA (TLS_RSA_*) cipher suites and patch the TLS stack' },
  poodle: { name: 'POODLE (SSLv3)', cves: ['CVE-2014-3566'], fix: 'disable SSLv3 (vsftpd: ssl_sslv3=NO; OpenSSL: MinProtocol = TLSv1.2)' },
  drown: { name: 'DROWN (SSLv2)', cves: ['CVE-2016-0800', 'CVE-2016-0703'], fix: 'disable SSLv2 on this server and on every other server that uses the same RSA key, and upgrade OpenSSL; then replace the key' },
  renegotiation: { name: 'insecure renegotiation', cves: ['CVE-2009-3555'], fix: 'upgrade the TLS library to one that implements RFC 5746 secure renegotiation, or disable renegotiation' },
  ticketbleed: { name: 'Ticketbleed', cves: ['CVE-2016-9244'], fix: 'upgrade F5 BIG-IP (or the affected TLS stack) to a fixed release, or disable session tickets on the virtual server' },
} as const;
type SubKey = keyof typeof SUB;

export type Outcome = { status: SubProbeResult['status']; detail: string };
/** What the raw SSLv3 and SSLv2 hellos found, shared with tls.legacy-protocol (check 19). */
export type SslOutcomes = { ssl3: Outcome; ssl2: Outcome };
const vulnerable = (detail: string): Outcome => ({ status: 'fail', detail });
const safe = (detail: string): Outcome => ({ status: 'pass', detail });
const notApplicable = (detail: string): Outcome => ({ status: 'not-applicable', detail });
const notTested = (detail: string): Outcome => ({ status: 'error', detail });

function quietWindow(s: TargetScan): number {
  return Math.min(LIMITS.tlsQuietWindowMs, s.options.timeoutMs);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** One raw connection for one sub-probe: budget, AUTH TLS where needed, timeout, abort, cleanup. */
async function withRaw<T>(s: TargetScan, fn: (conn: RawTlsConnection, deadline: number) => Promise<T>, allowSsl2 = false): Promise<T> {
  const { socket, release } = await rawTlsSocket(s);
  const conn = new RawTlsConnection(socket, s.signal, allowSsl2);
  try {
    return await fn(conn, Date.now() + s.options.timeoutMs);
  } finally {
    conn.close();
    release();
  }
}

function tlsHello(s: TargetScan, o: { ciphers?: readonly number[]; heartbeat?: boolean; sessionId?: Buffer; ticket?: Buffer } = {}): Buffer {
  const extensions: Extension[] = [
    ...ext.serverName(s.target.host),
    ext.supportedGroups(),
    ext.ecPointFormats(),
    ext.signatureAlgorithms(),
    ext.sessionTicket(o.ticket),
    ...(o.heartbeat ? [ext.heartbeat()] : []),
  ];
  return encodeClientHello({
    version: VERSION.tls12,
    // the SCSV, not the extension: a server that ignores it shows it has no RFC 5746 support
    ciphers: [...(o.ciphers ?? BROAD_SUITES), SCSV_RENEGOTIATION],
    ...(o.sessionId ? { sessionId: o.sessionId } : {}),
    extensions,
  });
}

/**
 * A TLS ≤ 1.2 hello that did not reach ServerHelloDone: what that means for a sub-probe that
 * needs the server waiting for our key exchange.
 */
function noFlight(out: HelloOutcome, needs: string): Outcome {
  switch (out.kind) {
    case 'alert':
      if (!out.alert.encrypted && [40, 70].includes(out.alert.description)) {
        return notApplicable(`the server refused a TLS 1.0-1.2 ClientHello (${formatAlert(out.alert)}): no TLS ≤ 1.2 handshake, which ${needs} needs`);
      }
      return notTested(`the server refused the probe's ClientHello (${formatAlert(out.alert)})`);
    case 'closed':
      return out.hello
        ? notTested('the server closed the connection before ServerHelloDone')
        : notApplicable(`the server closed the connection on a TLS 1.0-1.2 ClientHello: no TLS ≤ 1.2 handshake, which ${needs} needs`);
    case 'timeout':
      return notTested(out.hello ? 'no ServerHelloDone before the timeout' : 'no answer to the ClientHello before the timeout');
    case 'resumed':
      return notTested('the server resumed a session nobody asked for');
    case 'flight':
      return out.hello.version > VERSION.tls12 ? notTested(`the server chose ${versionName(out.hello.version)} without being offered it`) : notTested('unexpected state');
  }
}

/** Read until a record or the end of the quiet window; handshake records (late flight parts) are skipped. */
async function readAnswer(conn: RawTlsConnection, deadline: number): Promise<ReadResult> {
  for (;;) {
    const rec = await conn.read(deadline);
    if (rec === 'closed' || rec === 'timeout' || rec.ssl2 || rec.type !== CONTENT.handshake) return rec;
  }
}

/** Heartbleed and insecure renegotiation share one hello (heartbeat extension + renegotiation SCSV). */
async function heartbleedAndRenegotiation(s: TargetScan): Promise<{ heartbleed: Outcome; renegotiation: Outcome }> {
  return withRaw(s, async (conn, deadline) => {
    const out = await exchangeHello(conn, tlsHello(s, { heartbeat: true }), deadline);
    const hello = out.hello;
    let renegotiation: Outcome;
    if (!hello || hello.version > VERSION.tls12) {
      const why = noFlight(out, 'renegotiation');
      renegotiation = why.status === 'not-applicable' ? notApplicable(`${why.detail} (TLS 1.3 has no renegotiation)`) : why;
    } else {
      const ri = hello.extensions.get(EXT.renegotiationInfo);
      const v = versionName(hello.version);
      if (!ri) renegotiation = vulnerable(`the ${v} ServerHello has no renegotiation_info extension although the ClientHello carried TLS_EMPTY_RENEGOTIATION_INFO_SCSV: no RFC 5746 secure renegotiation`);
      else if (ri.length === 1 && ri[0] === 0) renegotiation = safe(`the ${v} ServerHello carries an empty renegotiation_info extension (RFC 5746)`);
      else renegotiation = safe(`the ${v} ServerHello carries renegotiation_info (RFC 5746), though not empty as an initial handshake requires (${ri.length} bytes)`);
    }
    if (out.kind !== 'flight' || out.hello.version > VERSION.tls12) return { heartbleed: noFlight(out, 'Heartbleed'), renegotiation };

    const ack = out.hello.extensions.has(EXT.heartbeat) ? 'heartbeat extension acknowledged' : 'heartbeat extension not acknowledged';
    // SECURITY: the request declares 16384 payload bytes and carries none. Whatever comes back is
    // counted and dropped, never stored or shown.
    conn.write(encodeRecord(CONTENT.heartbeat, out.hello.version, Buffer.from([1, HEARTBEAT_DECLARED >> 8, HEARTBEAT_DECLARED & 0xff])));
    const wait = quietWindow(s);
    const rec = await readAnswer(conn, Date.now() + wait);
    const sent = `a heartbeat request declaring ${HEARTBEAT_DECLARED} payload bytes and carrying none, sent after ServerHelloDone in clear`;
    let heartbleed: Outcome;
    if (rec === 'timeout') heartbleed = safe(`${ack}; ${sent}, got no heartbeat response within ${seconds(wait)}`);
    else if (rec === 'closed') heartbleed = safe(`${ack}; ${sent}: the server closed the connection without a heartbeat response`);
    else if (!rec.ssl2 && rec.type === CONTENT.heartbeat && rec.body.length > 3) {
      heartbleed = vulnerable(`${ack}; ${sent}: the server answered with a ${rec.body.length}-byte heartbeat record (3 bytes were sent): it read past the request into its memory (the returned bytes were discarded unread)`);
    } else if (!rec.ssl2 && rec.type === CONTENT.alert) heartbleed = safe(`${ack}; ${sent}: the server answered ${formatAlert(parseAlert(rec.body))}`);
    else heartbleed = safe(`${ack}; ${sent}: no over-long heartbeat response (got a record of type ${rec.ssl2 ? 'SSLv2' : rec.type})`);
    return { heartbleed, renegotiation };
  });
}

/** 'accepted-keys', 'closed', 'silent', or what the server said instead. */
function judgeCcsAnswer(rec: ReadResult): string {
  if (rec === 'timeout') return 'silent';
  if (rec === 'closed') return 'closed';
  if (!rec.ssl2 && rec.type === CONTENT.alert) {
    const a = parseAlert(rec.body);
    // bad_record_mac / decryption_failed, or an alert the server encrypted: it switched keys
    if (a.encrypted || a.description === 20 || a.description === 21) return 'accepted-keys';
    return formatAlert(a);
  }
  return rec.ssl2 ? 'an SSLv2 record' : `a record of type ${rec.type}`;
}

async function ccsInjection(s: TargetScan): Promise<Outcome> {
  return withRaw(s, async (conn, deadline) => {
    const out = await exchangeHello(conn, tlsHello(s), deadline);
    if (out.kind !== 'flight' || out.hello.version > VERSION.tls12) return noFlight(out, 'CCS injection');
    const v = out.hello.version;
    const ccs = encodeRecord(CONTENT.changeCipherSpec, v, Buffer.from([1]));
    const wait = quietWindow(s);
    conn.write(ccs);
    const first = judgeCcsAnswer(await readAnswer(conn, Date.now() + wait));
    const what = `a ChangeCipherSpec sent right after ServerHelloDone (${versionName(v)}, before any key exchange)`;
    if (first === 'accepted-keys') return vulnerable(`${what} was answered with bad_record_mac or an encrypted alert: the server switched to keys derived from an empty master secret`);
    if (first === 'closed') return safe(`${what}: the server closed the connection`);
    if (first !== 'silent') return safe(`${what}: the server answered ${first} (a patched stack refuses it at once)`);
    // Silence: a patched OpenSSL sends unexpected_message at once. Send a second CCS, as testssl.sh
    // does: a server that accepted the first now fails to authenticate it (bad_record_mac).
    conn.write(ccs);
    const second = judgeCcsAnswer(await readAnswer(conn, Date.now() + wait));
    if (second === 'accepted-keys') return vulnerable(`${what} got no alert within ${seconds(wait)}; a second one was answered with bad_record_mac or an encrypted alert: the early ChangeCipherSpec was accepted`);
    if (second === 'silent' || second === 'closed') {
      return vulnerable(`${what} got no unexpected_message alert within ${seconds(wait)}, nor did a second one (${second === 'silent' ? 'silence' : 'the connection was then closed'}): the server accepted an early ChangeCipherSpec (likely vulnerable; heuristic, confirm with testssl.sh --ccs-injection)`);
    }
    return safe(`${what} got no answer within ${seconds(wait)}; a second one was answered ${second}`);
  });
}

async function poodle(s: TargetScan): Promise<Outcome> {
  return withRaw(s, async (conn, deadline) => {
    // A plain SSLv3 hello: SSLv3 record and client version, CBC suites only, no extensions.
    const hello = encodeClientHello({ version: VERSION.ssl3, ciphers: [...CBC_SUITES, SCSV_RENEGOTIATION] });
    const out = await exchangeHello(conn, hello, deadline);
    if (out.hello) {
      const h = out.hello;
      if (h.version === VERSION.ssl3) return vulnerable(`an SSLv3-only ClientHello offering CBC suites was accepted: SSLv3 ServerHello with ${suiteName(h.cipher)}`);
      return safe(`an SSLv3-only ClientHello was answered with a ${versionName(h.version)} ServerHello: SSLv3 is not spoken`);
    }
    if (out.kind === 'alert') return safe(`SSLv3 refused: ${formatAlert(out.alert)}`);
    if (out.kind === 'closed') return safe('SSLv3 refused: the server closed the connection on an SSLv3 ClientHello');
    return notTested('no answer to an SSLv3 ClientHello before the timeout');
  });
}

async function drown(s: TargetScan): Promise<Outcome> {
  return withRaw(
    s,
    async (conn, deadline) => {
      conn.write(encodeSsl2ClientHello());
      const rec = await conn.read(deadline);
      if (rec === 'closed') return safe('SSLv2 refused: the server closed the connection on an SSLv2 CLIENT-HELLO');
      if (rec === 'timeout') return notTested('no answer to an SSLv2 CLIENT-HELLO before the timeout');
      if (!rec.ssl2) {
        if (rec.type === CONTENT.alert) return safe(`SSLv2 refused: ${formatAlert(parseAlert(rec.body))}`);
        return safe(`an SSLv2 CLIENT-HELLO was answered with a TLS record (type ${rec.type}), not SSLv2`);
      }
      if (rec.body[0] === 0) return safe('SSLv2 refused: SSLv2 ERROR message');
      const h = parseSsl2ServerHello(rec.body);
      const exportSpecs = h.cipherSpecs.filter((c) => c === 0x020080 || c === 0x040080).length;
      return vulnerable(`the server answered an SSLv2 CLIENT-HELLO with an SSLv2 SERVER-HELLO (${h.cipherSpecs.length} cipher spec(s)${exportSpecs ? `, ${exportSpecs} of them export-grade` : ''}, a ${h.certificateBytes}-byte certificate): SSLv2 is enabled, so its RSA key can be used to decrypt TLS sessions`);
    },
    true,
  );
}

/** A session ticket from a full TLS ≤ 1.2 handshake by Node's OpenSSL (undefined: none issued). */
async function fetchTicket(s: TargetScan): Promise<{ ticket?: Buffer; protocol?: string; error?: string }> {
  const { socket, release } = await rawTlsSocket(s);
  const host = s.target.host;
  return new Promise((resolve) => {
    let settled = false;
    const t = tls.connect({
      socket,
      rejectUnauthorized: false,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.2',
      ciphers: 'ALL:@SECLEVEL=0',
      ...(net.isIP(host) ? {} : { servername: host }),
    });
    const timer = setTimeout(() => finish({ error: 'handshake timed out' }), s.options.timeoutMs);
    const onAbort = (): void => finish({ error: 'target time limit reached' });
    s.signal.addEventListener('abort', onAbort, { once: true });
    function finish(r: { ticket?: Buffer; protocol?: string; error?: string }): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.signal.removeEventListener('abort', onAbort);
      t.destroy();
      socket.destroy();
      release();
      resolve(r);
    }
    t.on('error', (err) => finish({ error: errorMessage(err) }));
    t.on('close', () => finish({ error: 'connection closed during the handshake' }));
    t.once('secureConnect', () => {
      // TLS ≤ 1.2: NewSessionTicket precedes the server's Finished, so it is here already.
      const ticket = t.getTLSTicket();
      finish({ ...(ticket?.length ? { ticket: Buffer.from(ticket) } : {}), protocol: t.getProtocol() ?? undefined });
    });
  });
}

async function ticketbleed(s: TargetScan): Promise<Outcome> {
  const got = await fetchTicket(s);
  if (got.error) return notApplicable(`no TLS ≤ 1.2 handshake completed (${got.error}), so no session ticket to resume with`);
  if (!got.ticket) return notApplicable(`the server issued no session ticket (${got.protocol}): nothing to resume with`);
  if (got.ticket.length > 8192) return notTested(`the session ticket is ${got.ticket.length} bytes, too large to resend in one record`);
  const ticket = got.ticket;
  return withRaw(s, async (conn, deadline) => {
    // A 1-byte session id, non-zero so that an echo is recognisable.
    const sid = Buffer.from([1 + (randomBytes(1)[0]! % 255)]);
    const out = await exchangeHello(conn, tlsHello(s, { ticket, sessionId: sid }), deadline);
    if (!out.hello) return notTested(`the resumption hello was not answered with a ServerHello (${out.kind === 'alert' ? formatAlert(out.alert) : out.kind})`);
    // SECURITY: the echoed session id may hold server memory: only its length and first byte are used.
    const echoed = out.hello.sessionId;
    const resumed = out.kind === 'resumed';
    const sent = `a ${got.ticket!.length}-byte session ticket with a 1-byte session id`;
    if (resumed && echoed.length === 32 && echoed[0] === sid[0]) {
      return vulnerable(`resuming with ${sent}, the server echoed a 32-byte session id that starts with ours: the other 31 bytes are its uninitialised memory (not kept)`);
    }
    if (resumed && echoed.equals(sid)) return safe(`resuming with ${sent}: the server resumed and echoed exactly the 1-byte session id`);
    if (resumed) return safe(`resuming with ${sent}: the server resumed and returned a ${echoed.length}-byte session id that does not extend ours`);
    return safe(`the server did not resume from ${sent} on a new connection (full handshake, session id of ${echoed.length} bytes): the echo that leaks cannot happen`);
  });
}

/** ROBOT needs static-RSA key exchange: decided from tls.no-forward-secrecy, or from a raw hello when that could not run. */
async function robot(s: TargetScan, noForwardSecrecy: Promise<CheckResult | undefined>): Promise<Outcome> {
  const notHere = 'not testable here (a Bleichenbacher oracle test is out of scope): confirm with testssl.sh --robot';
  const fs = await noForwardSecrecy;
  if (fs?.status === 'fail') return notTested(`static-RSA key exchange is accepted (see tls.no-forward-secrecy: ${fs.evidence[0] ?? ''}); ${notHere}`);
  if (fs?.status === 'pass') return notApplicable('not possible: static-RSA key exchange is refused (see tls.no-forward-secrecy)');
  return withRaw(s, async (conn, deadline) => {
    const out = await exchangeHello(conn, tlsHello(s, { ciphers: STATIC_RSA_SUITES }), deadline);
    if (out.hello) return notTested(`static-RSA key exchange is accepted (${suiteName(out.hello.cipher)}, ${versionName(out.hello.version)}); ${notHere}`);
    if (out.kind === 'alert' || out.kind === 'closed') return notApplicable(`not possible: a ClientHello offering only TLS_RSA_* suites was refused (${out.kind === 'alert' ? formatAlert(out.alert) : 'connection closed'})`);
    return notTested('no answer to a static-RSA-only ClientHello before the timeout');
  });
}

async function attempt(p: Promise<Outcome>): Promise<Outcome> {
  try {
    return await p;
  } catch (err) {
    return notTested(`could not run: ${errorMessage(err)}`);
  }
}

const LABEL: Record<SubProbeResult['status'], string> = { fail: 'VULNERABLE', pass: 'not vulnerable', 'not-applicable': 'not applicable', error: 'not tested' };

export function formatSubProbe(p: SubProbeResult): string {
  return `${p.name} (${p.cves.join(', ')}): ${LABEL[p.status]}: ${p.detail}${p.fix ? `. Fix: ${p.fix}` : ''}`;
}

/** Run every sub-probe and decide check 29. `noForwardSecrecy` settles once tls.no-forward-secrecy is decided. */
export async function knownVulns(s: TargetScan, noForwardSecrecy: Promise<CheckResult | undefined>, onSsl: (o: SslOutcomes) => void = () => undefined): Promise<void> {
  const shared = heartbleedAndRenegotiation(s).catch((err: unknown) => {
    const o = notTested(`could not run: ${errorMessage(err)}`);
    return { heartbleed: o, renegotiation: o };
  });
  const [{ heartbleed, renegotiation }, ccs, robotR, poodleR, drownR, ticket] = await Promise.all([
    shared,
    attempt(ccsInjection(s)),
    attempt(robot(s, noForwardSecrecy)),
    attempt(poodle(s)),
    attempt(drown(s)),
    attempt(ticketbleed(s)),
  ]);
  onSsl({ ssl3: poodleR, ssl2: drownR });
  decide(s, [['heartbleed', heartbleed], ['ccs', ccs], ['robot', robotR], ['poodle', poodleR], ['drown', drownR], ['renegotiation', renegotiation], ['ticketbleed', ticket]]);
}

function decide(s: TargetScan, outcomes: [SubKey, Outcome][]): void {
  const subProbes: SubProbeResult[] = outcomes.map(([k, o]) => ({
    name: SUB[k].name,
    cves: [...SUB[k].cves],
    status: o.status,
    detail: o.detail,
    ...(o.status === 'fail' ? { fix: SUB[k].fix } : {}),
  }));
  const lines = subProbes.map(formatSubProbe);
  const named = (status: SubProbeResult['status']): string[] => subProbes.filter((p) => p.status === status).map((p) => p.name);
  const others = (['pass', 'not-applicable', 'error'] as const).filter((st) => named(st).length).map((st) => `${LABEL[st]}: ${named(st).join(', ')}`);
  const found = subProbes.filter((p) => p.status === 'fail');
  if (found.length) {
    s.fail(ID, [`vulnerable to ${found.map((p) => `${p.name} (${p.cves.join(', ')})`).join(', ')}${others.length ? `; ${others.join('; ')}` : ''}`, ...lines], { subProbes });
  } else if (subProbes.some((p) => p.status === 'pass')) {
    // Never a silent pass: what could not be decided is named in the first line.
    s.passWith(ID, [`no known vulnerability found (${others.join('; ')})`, ...lines], { subProbes });
  } else {
    s.error(ID, 'no sub-probe could decide anything (see evidence)', 'probe-failed', lines, { subProbes });
  }
}
