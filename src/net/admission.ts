// Admission: decides, when a socket is accepted and before a single byte is parsed, whether
// the connection may proceed. Caps (total, per address) are enforced here; policy rules (IP
// allow/deny lists, the auto-ban defender, rate limits) plug in as AdmissionRules.
import { randomUUID } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import type { Audit } from '../audit/audit.ts';
import type { Protocol } from '../audit/events.ts';
import type { ErrorCode } from '../errors/index.ts';
import { addressKeyer, type AddressKeyFn } from '../policy/address-key.ts';
import { normaliseAddress, type ConnectionContext } from './connection.ts';
import { PreAuthGate, type PreAuthLimits } from './pre-auth.ts';

export interface AdmissionRefusal {
  code: ErrorCode;
  /** Which rule refused, for the audit trail (e.g. `limits.maxConnectionsPerAddress`). */
  rule: string;
}

/** A policy check at accept time. Returns a refusal or null to let the next rule decide. */
export type AdmissionRule = (peer: { address: string; protocol: Protocol }) => AdmissionRefusal | null | Promise<AdmissionRefusal | null>;

export interface AdmissionLimits extends PreAuthLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

export class Admission {
  private total = 0;
  /** Open connections per address key (an IPv4 address or an IPv6 prefix). */
  private readonly perAddress = new Map<string, number>();
  private readonly rules: AdmissionRule[] = [];
  private readonly live = new Map<string, { ctx: ConnectionContext; socket: Socket; key: string; authenticated: boolean }>();
  private readonly unsubscribe: () => void;
  /** Connections that have not authenticated yet: caps, early drop and a deadline from accept. */
  private readonly preAuth: PreAuthGate;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly audit: Audit,
    private readonly key: AddressKeyFn = addressKeyer(64),
    random: () => number = Math.random,
  ) {
    this.preAuth = new PreAuthGate(limits, random);
    this.unsubscribe = audit.subscribe((r) => {
      if (r.type !== 'auth.succeeded' || !r.connectionId) return;
      const live = this.live.get(r.connectionId);
      if (!live) return;
      live.authenticated = true;
      this.preAuth.leave(r.connectionId);
    });
  }

  /** Connections admitted that have not authenticated yet. */
  get unauthenticatedCount(): number {
    return this.preAuth.count;
  }

  /** Adds a policy rule (checked in order, before the caps). */
  addRule(rule: AdmissionRule): void {
    this.rules.push(rule);
  }

  get connectionCount(): number {
    return this.total;
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
    if (!refusal && address !== null) {
      try {
        refusal = await this.checkRules(address, protocol);
      } catch {
        refusal = { code: 'ERR_ADMISSION_DENIED', rule: 'policy-error' }; // SECURITY: fail closed
      }
      // The caps are checked and taken in one synchronous step after the rules.
      refusal ??= this.checkCaps(this.key(address));
    }
    let evict: string | null = null;
    if (!refusal && address !== null && !socket.destroyed) {
      const gate = this.preAuth.check(this.key(address));
      if (gate.admit) evict = gate.evict;
      else refusal = { code: gate.code, rule: gate.rule };
    }
    if (socket.destroyed) return null;
    if (refusal) {
      socket.destroy();
      this.audit.emit({ type: 'conn.refused', protocol, remoteAddress: address ?? String(raw), code: refusal.code, rule: refusal.rule });
      return null;
    }
    const ctx: ConnectionContext = {
      id: randomUUID(),
      protocol,
      remoteAddress: address!,
      remotePort: peer?.port ?? socket.remotePort ?? 0,
      localAddress: normaliseAddress(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
      startedAt: Date.now(),
    };
    const key = this.key(ctx.remoteAddress);
    this.total += 1;
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
    this.live.set(ctx.id, { ctx, socket, key, authenticated: false });
    // SECURITY: the deadline runs from accept, before the first byte: a silent socket, half an
    // SSH identification line or a stalled handshake cannot hold a slot past it.
    this.preAuth.enter(ctx.id, key, () => this.drop(ctx.id, 'ERR_SESSION_LOGIN_TIMEOUT', `not logged in within limits.loginTimeoutMs (${this.limits.loginTimeoutMs} ms) of accept`));
    if (evict) this.drop(evict, 'ERR_ADMISSION_PREAUTH_BUSY', `limits.maxUnauthenticated (${this.limits.maxUnauthenticated}) reached: the oldest waiting connection of the address holding the most made room for ${ctx.remoteAddress}`);
    socket.once('close', () => {
      this.preAuth.leave(ctx.id);
      this.total -= 1;
      const n = (this.perAddress.get(key) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(key);
      else this.perAddress.set(key, n);
      this.live.delete(ctx.id);
      this.audit.emit({ type: 'conn.closed', connectionId: ctx.id, protocol, remoteAddress: ctx.remoteAddress, durationMs: Date.now() - ctx.startedAt });
    });
    this.audit.emit({ type: 'conn.accepted', connectionId: ctx.id, protocol, remoteAddress: ctx.remoteAddress, localPort: ctx.localPort });
    return ctx;
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

  private checkCaps(key: string): AdmissionRefusal | null {
    if (this.total >= this.limits.maxConnections) return { code: 'ERR_ADMISSION_TOO_MANY_CONNECTIONS', rule: 'limits.maxConnections' };
    if ((this.perAddress.get(key) ?? 0) >= this.limits.maxConnectionsPerAddress) return { code: 'ERR_ADMISSION_TOO_MANY_FROM_ADDRESS', rule: 'limits.maxConnectionsPerAddress' };
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
    this.preAuth.leave(id);
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
