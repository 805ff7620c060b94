// TLS session tickets for one control connection: its own keys, and a fresh ticket on every
// resumed handshake.
//
// Why a fresh ticket: a TLS 1.3 ticket is meant to be used once, and OpenSSL clients treat it so
// (after resuming, OpenSSL marks the session it resumed as not resumable). OpenSSL servers send a
// new ticket on a resumed TLS 1.3 handshake only when the ticket-key callback asks for a renewal;
// with static keys (Node's `ticketKeys`) they send none. curl (OpenSSL) then has nothing left to
// resume with after its first data connection and does a full handshake on the second, which a
// server that requires resumption on every data connection must refuse. Renewing on a
// resumption gives the client a new ticket each time (lftp, basic-ftp, rclone, the resuming
// ftplib: unaffected; they take it or reuse the old one).
//
// Not on an upload's data connection: a client that never reads it (curl while uploading) and
// closes it with the ticket unread makes its kernel reset the connection and drop the upload's
// last bytes still in its send queue (seen: 18 of 20 curl TLS 1.3 uploads cut, 426).
//
// Node has no public API for this: it is the SecureContext's ticket-key callback
// (`enableTicketKeyCallback` + `onticketkeycallback`, the hook `tls.Server` used for ticket keys
// before `ticketKeys` existed). It is checked when this module loads and when it is installed;
// without it, a context falls back to static per-connection keys (tickets still never resume
// outside their control connection) and `ticketRenewalAvailable` says so.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import tls from 'node:tls';

/** Indexes of the array the callback returns (node/src/crypto/crypto_context.h). */
const RENEW = 2;
const ACCEPT = 1;
const UNKNOWN = 0;

interface NativeContext {
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, enc: boolean) => [number, Buffer, Buffer, Buffer?, Buffer?];
}

function native(context: tls.SecureContext): NativeContext {
  const handle: unknown = context.context;
  return handle as NativeContext;
}

/**
 * Installs per-context ticket keys that renew the ticket on a resumption when `renew()` says so
 * (asked during the handshake). Returns false (and leaves the context unchanged) when this Node
 * has no ticket-key callback.
 */
export function installRenewingTicketKeys(context: tls.SecureContext, renew: () => boolean): boolean {
  const ctx = native(context);
  if (typeof ctx.enableTicketKeyCallback !== 'function') return false;
  // SECURITY: keys of this control connection only: its tickets resume nowhere else.
  const name = randomBytes(16);
  const hmac = randomBytes(32);
  const aes = randomBytes(16);
  ctx.onticketkeycallback = (ticketName, _iv, enc) => {
    if (enc) return [ACCEPT, hmac, aes, name, randomBytes(16)];
    const ours = ticketName.length === name.length && timingSafeEqual(ticketName, name);
    return [ours ? (renew() ? RENEW : ACCEPT) : UNKNOWN, hmac, aes];
  };
  ctx.enableTicketKeyCallback();
  return true;
}

/** True when this Node can renew tickets (see the file comment); probed once. */
export const ticketRenewalAvailable: boolean = typeof native(tls.createSecureContext()).enableTicketKeyCallback === 'function';
