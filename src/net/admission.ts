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

export interface AdmissionRefusal {
  code: ErrorCode;
  /** Which rule refused, for the audit trail (e.g. `limits.maxConnectionsPerAddress`). */
  rule: string;
}

/** A policy check at accept time. Returns a refusal or null to let the next rule decide. */
export type AdmissionRule = (peer: { address: string; protocol: Protocol }) => AdmissionRefusal | null | Promise<AdmissionRefusal | null>;

export interface AdmissionLimits {
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

  constructor(
    private limits: AdmissionLimits,
    private readonly audit: Audit,
    private readonly key: AddressKeyFn = addressKeyer(64),
  ) {
    this.unsubscribe = audit.subscribe((r) => {
      if (r.type !== 'auth.succeeded' || !r.connectionId) return;
      const live = this.live.get(r.connectionId);
      if (live) live.authenticated = true;
    });
  }

  /** Adds a policy rule (checked in order, before the caps). */
  addRule(rule: AdmissionRule): void {
    this.rules.push(rule);
  }

  setLimits(limits: AdmissionLimits): void {
    this.limits = limits;
  }

  get connectionCount(): number {
    return this.total;
  }

  /**
   * Admits or refuses a freshly accepted socket. A refused socket is destroyed at once, with
   * no banner, and audited. An admitted one is counted until it closes.
   */
  async admit(socket: Socket, protocol: Protocol): Promise<ConnectionContext | null> {
    const raw = socket.remoteAddress;
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
      remotePort: socket.remotePort ?? 0,
      localAddress: normaliseAddress(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
      startedAt: Date.now(),
    };
    const key = this.key(ctx.remoteAddress);
    this.total += 1;
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
    this.live.set(ctx.id, { ctx, socket, key, authenticated: false });
    socket.once('close', () => {
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
    for (const live of this.live.values()) {
      if (live.key !== key || live.authenticated || live.socket.destroyed) continue;
      this.audit.emit({ type: 'conn.dropped', connectionId: live.ctx.id, protocol: live.ctx.protocol, remoteAddress: live.ctx.remoteAddress, code: 'ERR_ADMISSION_BANNED', reason });
      live.socket.destroy();
      n += 1;
    }
    return n;
  }

  /** Ends every admitted connection (shutdown). */
  closeAll(): void {
    for (const { socket } of this.live.values()) socket.destroy();
  }

  close(): void {
    this.unsubscribe();
  }
}
