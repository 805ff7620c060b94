// TLS for one control connection and its data connections. Each control connection gets its own
// secure context (its own session-ticket keys) and its own session-ID cache. A data connection
// can therefore only resume a session that this control connection's handshakes issued:
// `isSessionReused()` on the data socket proves it belongs to this control channel.
import { constants, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { LIMITS } from '../../config/limits.ts';
import { PortcullisError } from '../../errors/index.ts';
import type { TlsIdentity } from '../../identity/identity.ts';
import { installRenewingTicketKeys } from './ticket-keys.ts';

/**
 * TLS 1.3 suites (all AEAD) and TLS 1.2 suites (ECDHE key exchange and AEAD only), in server
 * order: AES-128-GCM first in both versions (the fastest with AES-NI), then AES-256-GCM, then
 * ChaCha20-Poly1305.
 */
export const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'].join(':');
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * SECURITY: ALPACA (CVE-2021-3618): a client that names another application protocol (a browser
 * lured into sending HTTPS here) is refused with no_application_protocol. FTP clients send no
 * ALPN, or "ftp". A per-socket option: it must reach every server-side TLSSocket.
 */
export const ftpAlpn = ({ protocols }: { protocols: string[] }): string | undefined => (protocols.includes('ftp') ? 'ftp' : undefined);

/** What every FTPS TLS context shares (certificate, versions, suites, options). */
export function tlsContextOptions(identity: TlsIdentity): tls.SecureContextOptions {
  return {
    cert: identity.cert,
    key: identity.key,
    minVersion: 'TLSv1.2',
    ciphers: `${TLS13_CIPHERS}:${TLS12_CIPHERS}`,
    honorCipherOrder: true,
    // SECURITY: no renegotiation, no compression (CRIME).
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION,
  };
}

/** Per-socket server options (a SecureContext cannot carry them). */
const SOCKET_OPTIONS = {
  isServer: true,
  // A client certificate is asked for but not required: one pinned to the user is an FTPS
  // second factor (auth/mfa/client-certificates.ts decides, not OpenSSL's chain check).
  requestCert: true,
  rejectUnauthorized: false,
  ALPNCallback: ftpAlpn,
} as const;

/**
 * SECURITY: TLS truncation. A TLS stream that ends with a bare TCP FIN, without the peer's
 * close_notify alert, may have been cut short (a killed client, or a FIN forged on the path).
 * Over a native socket Node reports both ends as the same 'end' event. An upload's data
 * connection therefore runs over this Duplex: it hands the TCP bytes to TLS but never the TCP
 * end of stream, so the TLS socket ends only on close_notify, and a TCP end before it destroys
 * the TLS socket with ERR_PROTOCOL_TLS_TRUNCATED (the transfer fails; nothing is committed).
 */
export class CloseNotifyGuard extends Duplex {
  private secure: tls.TLSSocket | null = null;
  private closeNotify = false;
  private tcpEnded = false;
  private decided = false;

  constructor(private readonly raw: net.Socket) {
    // The TLS socket inherits allowHalfOpen (false): it answers the peer's close_notify with its
    // own and ends. The TCP socket under it must not end or close by itself before TLS has read
    // everything up to the TCP end.
    super({ allowHalfOpen: false, readableHighWaterMark: LIMITS.ftpDataBufferBytes });
    raw.allowHalfOpen = true;
    raw.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.once('end', () => {
      this.tcpEnded = true;
      this.decideEnd();
    });
    raw.once('error', (err) => this.lost(err));
    raw.once('close', () => this.lost(null));
  }

  /** Watches the TLS socket built on this guard; called before any byte reaches it. */
  watch(secure: tls.TLSSocket): void {
    this.secure = secure;
    // The TLS layer pushes its end of stream (null) when, and only when, it has read the
    // peer's close_notify: the TCP end is never passed on (see the class comment).
    const push = secure.push.bind(secure);
    secure.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null) this.closeNotify = true;
      return push(chunk, encoding);
    };
    // Runs after the TLS layer's own 'data' listener, which hands each chunk to OpenSSL
    // synchronously: when the last buffered chunk has passed, a close_notify in it has been seen.
    this.on('data', () => this.decideEnd());
    secure.once('close', () => this.destroy());
  }

  /** The TCP socket failed or closed. After close_notify the data is complete: TLS still
   * delivers what it has read and ends by itself (its own close_notify is then dropped). */
  private lost(err: Error | null): void {
    if (this.closeNotify) return;
    this.destroy(err ?? undefined);
  }

  /** True once the peer's close_notify has been read. */
  get closedCleanly(): boolean {
    return this.closeNotify;
  }

  /** At the TCP end, once every byte before it has reached TLS: close_notify or truncation. */
  private decideEnd(): void {
    if (!this.tcpEnded || this.readableLength > 0 || this.decided) return;
    this.decided = true;
    if (this.closeNotify) return; // the TLS socket ends by itself
    this.secure?.destroy(new PortcullisError('ERR_PROTOCOL_TLS_TRUNCATED', 'the data connection ended without a TLS close_notify'));
    this.destroy();
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.raw.destroyed) callback(); // only after close_notify (see lost): nobody to send to
    else this.raw.write(chunk, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.raw.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.raw.destroy();
    callback(err);
  }
}

export const TLS_CLOSED_DURING_HANDSHAKE = 'connection closed during the TLS handshake';

/** A failed server-side handshake: the cause, and the ALPN names the client sent. */
export class TlsHandshakeError extends Error {
  constructor(
    cause: Error,
    readonly alpn: string[] | undefined,
  ) {
    super(cause.message, { cause });
    this.name = 'TlsHandshakeError';
  }
}

export class TlsBinding {
  private readonly context: tls.SecureContext;
  /** Receives the session-cache events of this binding's sockets (never listens). */
  private readonly events = new tls.Server();
  private readonly sessions = new Map<string, Buffer>();
  private readonly handshaking = new Set<tls.TLSSocket>();
  /** Whether the handshake under way may send a renewed ticket (see ticket-keys.ts). */
  private renewTicket = false;

  constructor(identity: TlsIdentity) {
    this.context = tls.createSecureContext({
      ...tlsContextOptions(identity),
      // SECURITY: per-control-connection keys: tickets from elsewhere never resume here.
      ticketKeys: randomBytes(48),
      sessionIdContext: randomBytes(16).toString('hex'),
    });
    // Per-connection keys too, and a new ticket on each resumed download or listing.
    installRenewingTicketKeys(this.context, () => this.renewTicket);
    this.events.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      if (this.sessions.size >= LIMITS.ftpTlsSessionCacheEntries) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
      this.sessions.set(id.toString('hex'), data);
      done();
    });
    this.events.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, this.sessions.get(id.toString('hex')) ?? null);
    });
  }

  /**
   * Runs the server side of a TLS handshake on an accepted (or connected) socket. With a
   * CloseNotifyGuard the TLS socket ends only on the peer's close_notify.
   */
  handshake(socket: net.Socket | CloseNotifyGuard, options: { highWaterMark?: number; renewTicket?: boolean } = {}): Promise<tls.TLSSocket> {
    const { renewTicket = false, ...socketOptions } = options;
    this.renewTicket = renewTicket; // one data handshake at a time per control connection
    return new Promise((resolve, reject) => {
      // The ALPN names the client sent, kept to explain a refusal (tls-refusal.ts).
      let alpn: string[] | undefined;
      const ALPNCallback = (hello: { servername: string; protocols: string[] }) => {
        alpn = hello.protocols;
        return ftpAlpn(hello);
      };
      const s = new tls.TLSSocket(socket, { ...SOCKET_OPTIONS, ALPNCallback, server: this.events, secureContext: this.context, ...socketOptions });
      if (socket instanceof CloseNotifyGuard) socket.watch(s);
      this.handshaking.add(s);
      const settle = (err: Error | null): void => {
        clearTimeout(timer);
        this.handshaking.delete(s);
        s.off('secure', onSecure);
        s.off('error', onError);
        s.off('close', onClose);
        if (err) {
          s.destroy();
          socket.destroy();
          reject(new TlsHandshakeError(err, alpn));
        } else resolve(s);
      };
      const onSecure = (): void => settle(null);
      const onError = (err: Error): void => settle(err);
      const onClose = (): void => settle(new Error(TLS_CLOSED_DURING_HANDSHAKE));
      const timer = setTimeout(() => settle(new Error('TLS handshake timeout')), LIMITS.ftpTlsHandshakeTimeoutMs);
      s.once('secure', onSecure);
      s.once('error', onError);
      s.once('close', onClose);
    });
  }

  close(): void {
    this.sessions.clear();
    for (const s of this.handshaking) s.destroy();
    this.handshaking.clear();
  }
}
