// A small raw SSL/TLS record layer for the vulnerability probes of check 29 (tls.known-vulns):
// hand-built ClientHellos (SSLv2, SSLv3, TLS 1.0-1.2) and strict, bounded parsers for what the
// server sends back. No cryptography: every probe stops before a key would be derived.
// The server is untrusted: every length is checked against what is actually there and against a
// cap in limits.ts, and a malformed answer is a protocol error (ScanError), never a guess.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ScanError } from './errors.ts';
import { LIMITS } from './limits.ts';

export const CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23, heartbeat: 24 } as const;
export const HANDSHAKE = { clientHello: 1, serverHello: 2, newSessionTicket: 4, certificate: 11, serverHelloDone: 14 } as const;
export const EXT = { serverName: 0, supportedGroups: 10, ecPointFormats: 11, signatureAlgorithms: 13, heartbeat: 15, sessionTicket: 35, renegotiationInfo: 0xff01 } as const;
export const VERSION = { ssl3: 0x0300, tls10: 0x0301, tls11: 0x0302, tls12: 0x0303 } as const;
/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3). */
export const SCSV_RENEGOTIATION = 0x00ff;

export function versionName(v: number): string {
  const names: Record<number, string> = { 0x0002: 'SSLv2', 0x0300: 'SSLv3', 0x0301: 'TLSv1', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };
  return names[v] ?? `0x${v.toString(16).padStart(4, '0')}`;
}

const ALERTS: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed', 22: 'record_overflow',
  40: 'handshake_failure', 42: 'bad_certificate', 47: 'illegal_parameter', 50: 'decode_error', 51: 'decrypt_error',
  70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error', 86: 'inappropriate_fallback',
  90: 'user_canceled', 100: 'no_renegotiation', 110: 'unsupported_extension', 112: 'unrecognized_name',
};

export function alertName(description: number): string {
  return ALERTS[description] ?? `alert ${description}`;
}

// Cipher suites the probes offer, with their IANA names for the evidence.
const SUITE_LIST: [code: number, name: string, cbc: boolean][] = [
  [0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', false],
  [0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', false],
  [0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', false],
  [0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', false],
  [0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', false],
  [0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', false],
  [0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', true],
  [0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', true],
  [0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', true],
  [0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', true],
  [0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', true],
  [0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', true],
  [0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', true],
  [0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', true],
  [0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', false],
  [0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', false],
  [0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA', true],
  [0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA', true],
  [0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256', true],
  [0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256', true],
  [0x0032, 'TLS_DHE_DSS_WITH_AES_128_CBC_SHA', true],
  [0x0038, 'TLS_DHE_DSS_WITH_AES_256_CBC_SHA', true],
  [0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256', false],
  [0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384', false],
  [0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA', true],
  [0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA', true],
  [0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256', true],
  [0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256', true],
  [0x0041, 'TLS_RSA_WITH_CAMELLIA_128_CBC_SHA', true],
  [0x0084, 'TLS_RSA_WITH_CAMELLIA_256_CBC_SHA', true],
  [0x0007, 'TLS_RSA_WITH_IDEA_CBC_SHA', true],
  [0xc012, 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA', true],
  [0x0016, 'TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA', true],
  [0x0013, 'TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA', true],
  [0x000a, 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', true],
  [0x0015, 'TLS_DHE_RSA_WITH_DES_CBC_SHA', true],
  [0x0009, 'TLS_RSA_WITH_DES_CBC_SHA', true],
  [0xc011, 'TLS_ECDHE_RSA_WITH_RC4_128_SHA', false],
  [0x0005, 'TLS_RSA_WITH_RC4_128_SHA', false],
  [0x0004, 'TLS_RSA_WITH_RC4_128_MD5', false],
  [0x0014, 'TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA', true],
  [0x0008, 'TLS_RSA_EXPORT_WITH_DES40_CBC_SHA', true],
  [0x0006, 'TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5', true],
  [0x0003, 'TLS_RSA_EXPORT_WITH_RC4_40_MD5', false],
];
const SUITE_NAMES = new Map(SUITE_LIST.map(([c, n]) => [c, n]));

export function suiteName(code: number): string {
  return SUITE_NAMES.get(code) ?? `0x${code.toString(16).padStart(4, '0')}`;
}

/** Everything above: a server of any age should find a suite it speaks. */
export const BROAD_SUITES: readonly number[] = SUITE_LIST.map(([c]) => c);
/** CBC suites only (POODLE needs SSLv3 with a CBC suite). */
export const CBC_SUITES: readonly number[] = SUITE_LIST.filter(([, , cbc]) => cbc).map(([c]) => c);
/** Static-RSA key exchange only (TLS_RSA_*: the precondition of ROBOT). */
export const STATIC_RSA_SUITES: readonly number[] = SUITE_LIST.filter(([, n]) => n.startsWith('TLS_RSA_')).map(([c]) => c);

// ------------------------------------------------------------------ encoding (outbound)

export interface Extension {
  type: number;
  data: Buffer;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

function vec16(data: Buffer): Buffer {
  return Buffer.concat([u16(data.length), data]);
}

export function encodeRecord(type: number, version: number, body: Buffer): Buffer {
  if (body.length > 16384) throw new ScanError('ERR_SCAN_PROTOCOL', 'outbound TLS record too large');
  return Buffer.concat([Buffer.from([type]), u16(version), u16(body.length), body]);
}

export function encodeHandshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), u24(body.length), body]);
}

export interface ClientHelloSpec {
  /** client_version (the highest version offered). */
  version: number;
  ciphers: readonly number[];
  /** Up to 32 bytes (default empty). */
  sessionId?: Buffer;
  /** Omitted: no extensions block at all (a plain SSLv3 hello). */
  extensions?: readonly Extension[];
}

/** A ClientHello in one handshake record (record version TLS 1.0, or SSLv3 for an SSLv3 hello). */
export function encodeClientHello(spec: ClientHelloSpec): Buffer {
  const sid = spec.sessionId ?? Buffer.alloc(0);
  if (sid.length > 32) throw new ScanError('ERR_SCAN_PROTOCOL', 'session id longer than 32 bytes');
  const suites = Buffer.concat(spec.ciphers.map(u16));
  const parts = [u16(spec.version), randomBytes(32), Buffer.from([sid.length]), sid, vec16(suites), Buffer.from([1, 0])];
  if (spec.extensions) {
    parts.push(vec16(Buffer.concat(spec.extensions.map((e) => Buffer.concat([u16(e.type), vec16(e.data)])))));
  }
  const recordVersion = Math.min(spec.version, VERSION.tls10);
  return encodeRecord(CONTENT.handshake, recordVersion, encodeHandshake(HANDSHAKE.clientHello, Buffer.concat(parts)));
}

export const ext = {
  /** server_name with one host_name, or nothing for an IP address (RFC 6066 §3). */
  serverName(host: string): Extension[] {
    if (net.isIP(host) || host.length === 0 || host.length > 255) return [];
    const name = Buffer.from(host, 'ascii');
    return [{ type: EXT.serverName, data: vec16(Buffer.concat([Buffer.from([0]), vec16(name)])) }];
  },
  supportedGroups(): Extension {
    // x25519, secp256r1, secp384r1, secp521r1, ffdhe2048, ffdhe3072
    return { type: EXT.supportedGroups, data: vec16(Buffer.concat([0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101].map(u16))) };
  },
  ecPointFormats(): Extension {
    return { type: EXT.ecPointFormats, data: Buffer.from([1, 0]) };
  },
  signatureAlgorithms(): Extension {
    const algs = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201, 0x0402, 0x0202];
    return { type: EXT.signatureAlgorithms, data: vec16(Buffer.concat(algs.map(u16))) };
  },
  /** RFC 6520: mode peer_allowed_to_send. */
  heartbeat(): Extension {
    return { type: EXT.heartbeat, data: Buffer.from([1]) };
  },
  /** RFC 5077: empty (asks for a ticket) or carrying one to resume. */
  sessionTicket(ticket: Buffer = Buffer.alloc(0)): Extension {
    return { type: EXT.sessionTicket, data: ticket };
  },
};

/** An SSLv2 CLIENT-HELLO (2-byte record header) offering every SSLv2 cipher kind. */
export function encodeSsl2ClientHello(): Buffer {
  // RC4_128_WITH_MD5, RC4_128_EXPORT40, RC2_128_CBC, RC2_128_CBC_EXPORT40, IDEA_128_CBC, DES_64_CBC, DES_192_EDE3_CBC
  const specs = [0x010080, 0x020080, 0x030080, 0x040080, 0x050080, 0x060040, 0x0700c0];
  const challenge = randomBytes(16);
  const body = Buffer.concat([Buffer.from([1]), u16(0x0002), u16(specs.length * 3), u16(0), u16(challenge.length), ...specs.map(u24), challenge]);
  return Buffer.concat([Buffer.from([0x80 | (body.length >> 8), body.length & 0xff]), body]);
}

// ------------------------------------------------------------------ parsing (inbound, untrusted)

function malformed(what: string): ScanError {
  return new ScanError('ERR_SCAN_PROTOCOL', `malformed ${what}`);
}

/** Bounds-checked reads over untrusted bytes: reading past the end is a protocol error. */
export class ByteReader {
  private off = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get left(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (n > this.left) throw malformed(`${this.what} (needs ${n} more bytes, ${this.left} left)`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = (this.buf[this.off]! << 16) | (this.buf[this.off + 1]! << 8) | this.buf[this.off + 2]!;
    this.off += 3;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  /** Nothing may follow. */
  end(): void {
    if (this.left !== 0) throw malformed(`${this.what} (${this.left} trailing bytes)`);
  }
}

export interface TlsRecord {
  ssl2: false;
  type: number;
  version: number;
  body: Buffer;
}

export interface Ssl2Record {
  ssl2: true;
  body: Buffer;
}

export type RawRecord = TlsRecord | Ssl2Record;

/**
 * Splits a byte stream into records. TLS records only, or (for the SSLv2 probe) an SSLv2 record
 * with a 2-byte header as well. Total input, record sizes and record types are all bounded.
 */
export class RecordReader {
  private buf: Buffer = Buffer.alloc(0);
  private total = 0;
  constructor(private readonly allowSsl2 = false) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    // SECURITY: a server cannot make a probe buffer more than maxTlsProbeBytes.
    if (this.total > LIMITS.maxTlsProbeBytes) throw new ScanError('ERR_SCAN_PROTOCOL', `server sent more than ${LIMITS.maxTlsProbeBytes} bytes to one probe`);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** Bytes of an incomplete record still waiting for the rest. */
  get pending(): number {
    return this.buf.length;
  }

  next(): RawRecord | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    const first = b[0]!;
    if (this.allowSsl2 && first & 0x80) {
      const len = ((first & 0x7f) << 8) | b[1]!;
      if (len === 0 || len > LIMITS.maxSsl2RecordBytes) throw malformed(`SSLv2 record (length ${len})`);
      if (b.length < 2 + len) return undefined;
      this.buf = b.subarray(2 + len);
      return { ssl2: true, body: b.subarray(2, 2 + len) };
    }
    if (first < CONTENT.changeCipherSpec || first > CONTENT.heartbeat) {
      throw new ScanError('ERR_SCAN_PROTOCOL', `not a TLS record (first byte 0x${first.toString(16).padStart(2, '0')})`);
    }
    if (b.length < 5) return undefined;
    const version = b.readUInt16BE(1);
    const len = b.readUInt16BE(3);
    if (version >> 8 !== 3) throw malformed(`TLS record (version 0x${version.toString(16)})`);
    if (len > LIMITS.maxTlsRecordBytes) throw malformed(`TLS record (length ${len} above ${LIMITS.maxTlsRecordBytes})`);
    if (len === 0 && first !== CONTENT.applicationData) throw malformed('TLS record (empty)');
    if (b.length < 5 + len) return undefined;
    this.buf = b.subarray(5 + len);
    return { ssl2: false, type: first, version, body: b.subarray(5, 5 + len) };
  }
}

export interface HandshakeMessage {
  type: number;
  body: Buffer;
}

/** Reassembles handshake messages from handshake record bodies; bounded in total. */
export class HandshakeReader {
  private buf: Buffer = Buffer.alloc(0);
  private total = 0;

  push(body: Buffer): void {
    this.total += body.length;
    // SECURITY: the whole server flight is bounded, however it is fragmented.
    if (this.total > LIMITS.maxTlsHandshakeBytes) throw new ScanError('ERR_SCAN_PROTOCOL', `handshake flight above ${LIMITS.maxTlsHandshakeBytes} bytes`);
    this.buf = this.buf.length ? Buffer.concat([this.buf, body]) : body;
  }

  next(): HandshakeMessage | undefined {
    if (this.buf.length < 4) return undefined;
    const len = (this.buf[1]! << 16) | (this.buf[2]! << 8) | this.buf[3]!;
    if (len > LIMITS.maxTlsHandshakeBytes) throw malformed(`handshake message (length ${len})`);
    if (this.buf.length < 4 + len) return undefined;
    const m = { type: this.buf[0]!, body: this.buf.subarray(4, 4 + len) };
    this.buf = this.buf.subarray(4 + len);
    return m;
  }

  get pending(): boolean {
    return this.buf.length > 0;
  }
}

export interface ServerHello {
  version: number;
  sessionId: Buffer;
  cipher: number;
  compression: number;
  /** Extension type → data (absent when the ServerHello carries no extensions block). */
  extensions: Map<number, Buffer>;
}

export function parseServerHello(body: Buffer): ServerHello {
  const r = new ByteReader(body, 'ServerHello');
  const version = r.u16();
  if (version >> 8 !== 3) throw malformed(`ServerHello (version 0x${version.toString(16)})`);
  r.bytes(32); // server random
  const sidLen = r.u8();
  if (sidLen > 32) throw malformed(`ServerHello (session id of ${sidLen} bytes)`);
  const sessionId = Buffer.from(r.bytes(sidLen));
  const cipher = r.u16();
  const compression = r.u8();
  const extensions = new Map<number, Buffer>();
  if (r.left > 0) {
    const exts = new ByteReader(r.bytes(r.u16()), 'ServerHello extensions');
    while (exts.left > 0) {
      const type = exts.u16();
      const data = exts.bytes(exts.u16());
      if (extensions.has(type)) throw malformed(`ServerHello (extension ${type} twice)`);
      extensions.set(type, Buffer.from(data));
    }
  }
  r.end();
  return { version, sessionId, cipher, compression, extensions };
}

export interface Alert {
  level: number;
  description: number;
  /** True when the alert record is not a plain 2-byte alert (i.e. it is encrypted). */
  encrypted: boolean;
  length: number;
}

export function parseAlert(body: Buffer): Alert {
  if (body.length === 2) return { level: body[0]!, description: body[1]!, encrypted: false, length: 2 };
  return { level: -1, description: -1, encrypted: true, length: body.length };
}

export function formatAlert(a: Alert): string {
  if (a.encrypted) return `an encrypted alert (${a.length} bytes)`;
  return `alert ${alertName(a.description)}${a.level === 2 ? ' (fatal)' : a.level === 1 ? ' (warning)' : ''}`;
}

export interface Ssl2ServerHello {
  version: number;
  cipherSpecs: number[];
  certificateBytes: number;
}

/** SSLv2 SERVER-HELLO (message type 4); the certificate is skipped, only its length is kept. */
export function parseSsl2ServerHello(body: Buffer): Ssl2ServerHello {
  const r = new ByteReader(body, 'SSLv2 SERVER-HELLO');
  if (r.u8() !== 4) throw malformed('SSLv2 SERVER-HELLO (message type)');
  r.u8(); // session-id-hit
  r.u8(); // certificate type
  const version = r.u16();
  const certLen = r.u16();
  const specsLen = r.u16();
  const connIdLen = r.u16();
  if (specsLen % 3 !== 0) throw malformed(`SSLv2 SERVER-HELLO (cipher specs length ${specsLen})`);
  if (connIdLen > 32) throw malformed(`SSLv2 SERVER-HELLO (connection id of ${connIdLen} bytes)`);
  r.bytes(certLen);
  const specs = new ByteReader(r.bytes(specsLen), 'SSLv2 cipher specs');
  const cipherSpecs: number[] = [];
  while (specs.left > 0) cipherSpecs.push(specs.u24());
  r.bytes(connIdLen);
  r.end();
  return { version, cipherSpecs, certificateBytes: certLen };
}

// ------------------------------------------------------------------ a connection

export type ReadResult = RawRecord | 'closed' | 'timeout';

/**
 * One probe's socket: records in, bytes out. Reads wait until a deadline; the scan's AbortSignal
 * ends the connection at once. The socket is always destroyed by close().
 */
export class RawTlsConnection {
  private readonly reader: RecordReader;
  private failure: Error | undefined;
  private ended = false;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly signal: AbortSignal,
    allowSsl2 = false,
  ) {
    this.reader = new RecordReader(allowSsl2);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onEnd); // a reset is the server leaving, like a close
    signal.addEventListener('abort', this.onAbort, { once: true });
    if (signal.aborted) this.onAbort();
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.failure ??= err as Error;
      this.socket.destroy();
    }
    this.wake();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  private readonly onAbort = (): void => {
    this.failure ??= new ScanError('ERR_SCAN_BUDGET', 'target time limit reached');
    this.socket.destroy();
    this.wake();
  };

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  write(data: Buffer): void {
    if (!this.ended && !this.socket.destroyed) this.socket.write(data);
  }

  /** The next record, 'closed' when the server left, 'timeout' at the deadline. Malformed input throws. */
  async read(deadline: number): Promise<ReadResult> {
    for (;;) {
      if (this.failure) throw this.failure;
      const rec = this.reader.next();
      if (rec) return rec;
      if (this.ended) {
        if (this.reader.pending) throw new ScanError('ERR_SCAN_PROTOCOL', `connection closed inside a record (${this.reader.pending} bytes of it received)`);
        return 'closed';
      }
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.socket.off('data', this.onData);
    this.socket.destroy();
    this.ended = true;
    this.wake();
  }
}

export type HelloOutcome =
  /** ServerHello … ServerHelloDone: the server waits for the client's key exchange. */
  | { kind: 'flight'; hello: ServerHello; messages: number[] }
  /** ServerHello then ChangeCipherSpec: an abbreviated (resumed) handshake. */
  | { kind: 'resumed'; hello: ServerHello; messages: number[] }
  | { kind: 'alert'; alert: Alert; hello?: ServerHello }
  | { kind: 'closed'; hello?: ServerHello }
  | { kind: 'timeout'; hello?: ServerHello };

/** Send a ClientHello and read the server's first flight, up to ServerHelloDone or a ChangeCipherSpec. */
export async function exchangeHello(conn: RawTlsConnection, clientHello: Buffer, deadline: number): Promise<HelloOutcome> {
  conn.write(clientHello);
  const hs = new HandshakeReader();
  let hello: ServerHello | undefined;
  const messages: number[] = [];
  for (;;) {
    const rec = await conn.read(deadline);
    if (rec === 'closed' || rec === 'timeout') return hello ? { kind: rec, hello } : { kind: rec };
    if (rec.ssl2) throw malformed('answer (an SSLv2 record to a TLS ClientHello)');
    if (rec.type === CONTENT.alert) {
      const alert = parseAlert(rec.body);
      return hello ? { kind: 'alert', alert, hello } : { kind: 'alert', alert };
    }
    if (rec.type === CONTENT.changeCipherSpec) {
      if (!hello || hs.pending) throw malformed('handshake (ChangeCipherSpec before a complete ServerHello)');
      return { kind: 'resumed', hello, messages };
    }
    if (rec.type !== CONTENT.handshake) throw malformed(`handshake (record type ${rec.type} before ServerHelloDone)`);
    hs.push(rec.body);
    for (let m = hs.next(); m; m = hs.next()) {
      if (!hello) {
        if (m.type !== HANDSHAKE.serverHello) throw malformed(`handshake (message type ${m.type} where a ServerHello belongs)`);
        hello = parseServerHello(m.body);
        continue;
      }
      messages.push(m.type);
      if (m.type === HANDSHAKE.serverHelloDone) return { kind: 'flight', hello, messages };
    }
  }
}
