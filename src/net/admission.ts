// Admission: decides, when a socket is accepted and before a single byte is parsed, whether
// the connection may proceed. Policy rules (IP allow/deny lists, the auto-ban defender, rate
// limits) plug in as AdmissionRules; then the caps (total, per address) and the
// pre-authentication gate decide, counted by a ConnectionTally (this process's own, or with
// workers the primary's: connection-tally.ts). The login deadline of each connection runs here.
import { randomUUID } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import type { Audit } from '../audit/audit.ts';
import type { Protocol } from '../audit/events.ts';
import type { ErrorCode } from '../errors/index.ts';
import { addressKeyer, type AddressKeyFn } from '../policy/address-key.ts';
import { normaliseAddress, type ConnectionContext } from './connection.ts';
import { type ConnectionTally, LocalTally, type TallyLimits } from './connection-tally.ts';

export interface AdmissionRefusal {
  code: ErrorCode;
  /** Which rule refused, for the audit trail (e.g. `limits.maxConnectionsPerAddress`). */
  rule: string;
}

/** A policy check at accept time. Returns a refusal or null to let the next rule decide. */
export type AdmissionRule = (peer: { address: string; protocol: Protocol }) => AdmissionRefusal | null | Promise<AdmissionRefusal | null>;

export type AdmissionLimits = TallyLimits;

interface Live {
  ctx: ConnectionContext;
  socket: Socket;
  key: string;
  authenticated: boolean;
  /** The login deadline from accept; cleared at authentication or close. */
  deadline: NodeJS.Timeout | null;
}

export class Admission {
  private readonly rules: AdmissionRule[] = [];
  private readonly live = new Map<string, Live>();
  private readonly unsubscribe: () => void;
  private waiting = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly audit: Audit,
    private readonly key: AddressKeyFn = addressKeyer(64),
    /** Where connections are counted: this process (default) or, with workers, the primary. */
    private readonly tally: ConnectionTally = new LocalTally(limits),
  ) {
    this.unsubscribe = audit.subscribe((r) => {
      if (r.type !== 'auth.succeeded' || !r.connectionId) return;
      const live = this.live.get(r.connectionId);
      if (!live || live.authenticated) return;
      live.authenticated = true;
      this.stopWaiting(live);
      this.tally.authenticated(live.ctx.id);
    });
    // SECURITY: fairness at the pre-authentication cap: the tally names a waiting connection
    // (of this process) that makes room for a newcomer, possibly one another worker admitted.
    tally.onEvict((id, reason) => this.drop(id, 'ERR_ADMISSION_PREAUTH_BUSY', reason));
  }

  /** Connections of this process that have not authenticated yet. */
  get unauthenticatedCount(): number {
    return this.waiting;
  }

  /** Adds a policy rule (checked in order, before the caps). */
  addRule(rule: AdmissionRule): void {
    this.rules.push(rule);
  }

  /** Connections of this process that are open. */
  get connectionCount(): number {
    return this.live.size;
  }

  /**
   * Admits or refuses a freshly accepted socket. A refused socket is destroyed at once, with
   * no banner, and audited. An admitted one is counted until it closes.
   */
  async admit(socket: Socket, protocol: Protocol, peer?: { address: string; port: number }): Promise<ConnectionContext | null> {
    // The client named by a trusted balancer's PROXY header, else the socket's peer.
    const raw = peer?.address ?? socket.remoteAddress;
    // SECURITY: fail closed: an address we cannot read or parse is refused.
    const address = raw && isIP(raw) ? normaliseAddress(raw) : null;
    let refusal: AdmissionRefusal | null = address === null ? { code: 'ERR_ADMISSION_BAD_ADDRESS', rule: 'peer-address' } : null;
    const id = randomUUID();
    const key = address === null ? '' : this.key(address);
    let counted = false;
    if (!refusal && address !== null) {
      try {
        refusal = await this.checkRules(address, protocol);
      } catch {
        refusal = { code: 'ERR_ADMISSION_DENIED', rule: 'policy-error' }; // SECURITY: fail closed
      }
      if (!refusal && !socket.destroyed) {
        // The caps and the pre-authentication gate: decided and taken in one step by the tally.
        try {
          const d = await this.tally.enter(id, key, address);
          if (d.admit) counted = true;
          else refusal = { code: d.code, rule: d.rule };
        } catch (err) {
          // SECURITY: fail closed: a connection the tally cannot count is not admitted.
          this.tally.leave(id);
          refusal = { code: 'ERR_ADMISSION_DENIED', rule: `connection-count: ${(err as Error).message.slice(0, 200)}` };
        }
      }
    }
    if (socket.destroyed) {
      if (counted) this.tally.leave(id);
      return null;
    }
    if (refusal) {
      socket.destroy();
      this.audit.emit({ type: 'conn.refused', protocol, remoteAddress: address ?? String(raw), code: refusal.code, rule: refusal.rule });
      return null;
    }
    const ctx: ConnectionContext = {
      id,
      protocol,
      remoteAddress: address!,
      remotePort: peer?.port ?? socket.remotePort ?? 0,
      localAddress: normaliseAddress(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
      startedAt: Date.now(),
    };
    // SECURITY: the deadline runs from accept, before the first byte: a silent socket, half an
    // SSH identification line or a stalled handshake cannot hold a slot past it.
    const deadline = setTimeout(() => this.drop(id, 'ERR_SESSION_LOGIN_TIMEOUT', `not logged in within limits.loginTimeoutMs (${this.limits.loginTimeoutMs} ms) of accept`), this.limits.loginTimeoutMs);
    deadline.unref();
    const live: Live = { ctx, socket, key, authenticated: false, deadline };
    this.live.set(id, live);
    this.waiting += 1;
    socket.once('close', () => {
      this.stopWaiting(live);
      this.tally.leave(id);
      this.live.delete(id);
      this.audit.emit({ type: 'conn.closed', connectionId: id, protocol, remoteAddress: ctx.remoteAddress, durationMs: Date.now() - ctx.startedAt });
    });
    this.audit.emit({ type: 'conn.accepted', connectionId: id, protocol, remoteAddress: ctx.remoteAddress, localPort: ctx.localPort });
    return ctx;
  }

  private stopWaiting(live: Live): void {
    if (live.deadline === null) return;
    clearTimeout(live.deadline);
    live.deadline = null;
    this.waiting -= 1;
  }

  /** A connection refused before admission could look at it (a bad PROXY header): audited. */
  refuseUnread(socket: Socket, protocol: Protocol, code: ErrorCode, rule: string): void {
    socket.destroy();
    this.audit.emit({ type: 'conn.refused', protocol, remoteAddress: normaliseAddress(socket.remoteAddress ?? '?'), code, rule });
  }

  private async checkRules(address: string, protocol: Protocol): Promise<AdmissionRefusal | null> {
    for (const rule of this.rules) {
      const r = await rule({ address, protocol });
      if (r) return r;
    }
    return null;
  }

  /** Admitted connections still open (for live views and graceful drain). */
  connections(): ConnectionContext[] {
    return [...this.live.values()].map((c) => c.ctx);
  }

  /**
   * Ends one admitted connection (`portcullis sessions kill`): destroys its socket; the adapter
   * cleans up on 'close' as for any dropped client. False when no such connection is open.
   */
  disconnect(connectionId: string): boolean {
    const live = this.live.get(connectionId);
    if (!live) return false;
    live.socket.destroy();
    return true;
  }

  /**
   * SECURITY: a ban stops the guessing in progress. Destroys the connections of an address key
   * that have not authenticated yet (they are audited as closed, with the ban as the reason);
   * authenticated sessions of the key go on, as their owner proved who they are. Returns how
   * many were closed.
   */
  dropUnauthenticated(key: string, reason: string): number {
    let n = 0;
    for (const live of [...this.live.values()]) {
      if (live.key !== key || live.authenticated || live.socket.destroyed) continue;
      if (this.drop(live.ctx.id, 'ERR_ADMISSION_BANNED', reason)) n += 1;
    }
    return n;
  }

  /** Closes an admitted connection that has not authenticated, audited with why. */
  private drop(id: string, code: ErrorCode, reason: string): boolean {
    const live = this.live.get(id);
    if (!live || live.authenticated || live.socket.destroyed) return false;
    this.stopWaiting(live);
    this.audit.emit({ type: 'conn.dropped', connectionId: id, protocol: live.ctx.protocol, remoteAddress: live.ctx.remoteAddress, code, reason });
    live.socket.destroy();
    return true;
  }

  /** Ends every admitted connection (shutdown). */
  closeAll(): void {
    for (const { socket } of this.live.values()) socket.destroy();
  }

  close(): void {
    this.unsubscribe();
  }
}
