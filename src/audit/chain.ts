// The hash chain of the audit trail. Every record carries `seq` (1, 2, 3, … across every file
// and the store), `prev` (the hash of the record before it; GENESIS for the first) and `hash`:
// the SHA-256 of the record's canonical form without `hash`. Canonical form (RFC 8785 JCS for
// the values a record holds: strings, finite numbers, booleans, null, arrays, objects): object
// keys sorted by UTF-16 code units at every level, no whitespace, JSON.stringify's escaping and
// number form. The stored line IS the canonical form of the whole record, so the bytes a reader
// greps, the value `verify` hashes and the columns `audit search` filters on are one thing:
// `verify` refuses a line that is not exactly canonical (a duplicate key, a reordered key, a
// space) and a store row whose indexed columns differ from `indexedColumns(record)`.
import { createHash } from 'node:crypto';
import { LIMITS } from '../config/limits.ts';
import type { AuditRecord } from './events.ts';

export const GENESIS = '0'.repeat(64);

export interface ChainHead {
  seq: number;
  hash: string;
}

export type ChainedRecord = AuditRecord & { seq: number; prev: string; hash: string };

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash of a record: SHA-256 of its canonical form without the `hash` field. */
export function hashOf(record: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = record;
  void _ignored;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** The store's indexed columns of a record (what `audit search` and `logins` filter on):
 * derived from the chained record alone, so the hash covers them; `verify` recomputes them. */
export interface IndexedColumns {
  ts: string | null;
  event: string | null;
  user_name: string | null;
  remote_address: string | null;
  protocol: string | null;
  connection_id: string | null;
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function indexedColumns(r: Readonly<Record<string, unknown>> | AuditRecord): IndexedColumns {
  const x = r as Readonly<Record<string, unknown>>;
  return { ts: text(x.ts), event: text(x.event), user_name: text(x.user), remote_address: text(x.remoteAddress), protocol: text(x.protocol), connection_id: text(x.connectionId) };
}

/** Oversized records keep only what identifies them (the detail fields are dropped). */
function bounded(record: AuditRecord): AuditRecord {
  if (Buffer.byteLength(JSON.stringify(record)) <= LIMITS.maxAuditRecordBytes) return record;
  return { ts: record.ts, event: record.event, type: record.type, truncated: true, connectionId: record.connectionId, user: record.user } as unknown as AuditRecord;
}

/** Links records onto a head; returns the sealed records and the new head. */
export function seal(head: ChainHead, records: readonly AuditRecord[]): { sealed: ChainedRecord[]; head: ChainHead } {
  let { seq, hash } = head;
  const sealed: ChainedRecord[] = [];
  for (const r of records) {
    seq += 1;
    const linked = { ...bounded(r), seq, prev: hash } as ChainedRecord;
    linked.hash = hashOf(linked as unknown as Record<string, unknown>);
    hash = linked.hash;
    sealed.push(linked);
  }
  return { sealed, head: { seq, hash } };
}

const lines = new WeakMap<ChainedRecord, string>();

/** One line of the JSON-lines trail. Sealed records are never changed, so each is encoded once
 * (the store row and the file line are the same text). */
export function encodeChainedLine(record: ChainedRecord): string {
  let line = lines.get(record);
  if (line === undefined) {
    line = `${canonicalJson(record)}\n`;
    lines.set(record, line);
  }
  return line;
}
