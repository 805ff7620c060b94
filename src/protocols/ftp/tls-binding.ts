// TLS for one control connection and its data connections. Each control connection gets its own
// (non-listening) tls.Server: its own session-ticket keys and its own session-ID cache. A data
// connection can therefore only resume a session that this control connection's handshakes
// issued: `isSessionReused()` on the data socket proves it belongs to this control channel.
import { constants, randomBytes } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { LIMITS } from '../../config/limits.ts';
import type { TlsIdentity } from '../../identity/identity.ts';

/** TLS 1.2 suites: ECDHE key exchange and AEAD only, server order. TLS 1.3 suites are all AEAD. */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function serverTlsOptions(identity: TlsIdentity): tls.TlsOptions {
  return {
    cert: identity.cert,
    key: identity.key,
    minVersion: 'TLSv1.2',
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
    // A client certificate is asked for but not required: one pinned to the user is an FTPS
    // second factor (auth/mfa/client-certificates.ts decides, not OpenSSL's chain check).
    requestCert: true,
    rejectUnauthorized: false,
    // SECURITY: no renegotiation, no compression (CRIME).
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION,
    handshakeTimeout: LIMITS.ftpTlsHandshakeTimeoutMs,
    // SECURITY: ALPACA (CVE-2021-3618): a client that names another application protocol (a
    // browser lured into sending HTTPS here) is refused with no_application_protocol. FTP clients
    // send no ALPN, or "ftp".
    ALPNCallback: ({ protocols }) => (protocols.includes('ftp') ? 'ftp' : undefined),
  };
}

type Pending = { resolve: (s: tls.TLSSocket) => void; reject: (e: Error) => void };

export class TlsBinding {
  private readonly server: tls.Server;
  private readonly sessions = new Map<string, Buffer>();
  private readonly pending = new Map<string, Pending>();

  constructor(identity: TlsIdentity) {
    this.server = tls.createServer({
      ...serverTlsOptions(identity),
      // SECURITY: per-control-connection keys: tickets from elsewhere never resume here.
      ticketKeys: randomBytes(48),
      sessionIdContext: randomBytes(16).toString('hex'),
    });
    this.server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      if (this.sessions.size >= LIMITS.ftpTlsSessionCacheEntries) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
      this.sessions.set(id.toString('hex'), data);
      done();
    });
    this.server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, this.sessions.get(id.toString('hex')) ?? null);
    });
    this.server.on('secureConnection', (s: tls.TLSSocket) => this.settle(s, null));
    this.server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => this.settle(s, err));
  }

  private settle(s: tls.TLSSocket, err: Error | null): void {
    const key = String(s.remotePort);
    const p = this.pending.get(key);
    if (!p) {
      s.destroy();
      return;
    }
    this.pending.delete(key);
    if (err) {
      s.destroy();
      p.reject(err);
    } else p.resolve(s);
  }

  /** Runs the server side of a TLS handshake on an accepted (or connected) socket. */
  handshake(raw: net.Socket): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const key = String(raw.remotePort);
      if (this.pending.has(key)) {
        raw.destroy();
        reject(new Error('a handshake from this port is already pending'));
        return;
      }
      this.pending.set(key, { resolve, reject });
      raw.once('close', () => {
        const p = this.pending.get(key);
        if (p) {
          this.pending.delete(key);
          p.reject(new Error('connection closed during the TLS handshake'));
        }
      });
      // The documented way to hand an already-accepted socket to a TLS server.
      this.server.emit('connection', raw);
    });
  }

  close(): void {
    this.sessions.clear();
    for (const p of this.pending.values()) p.reject(new Error('closed'));
    this.pending.clear();
  }
}
