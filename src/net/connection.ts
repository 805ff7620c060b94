// What the core knows about one admitted connection. Created by admission, passed to auth and
// the session, and stamped on every audit event of that connection.
import type { Protocol } from '../audit/events.ts';

export interface ConnectionContext {
  readonly id: string;
  readonly protocol: Protocol;
  /** Normalised peer address (IPv4-mapped IPv6 becomes plain IPv4). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly startedAt: number;
}

/** `::ffff:127.0.0.1` → `127.0.0.1`; anything else unchanged. */
export function normaliseAddress(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m ? m[1]! : address.toLowerCase();
}
