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
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  return `{${members(value as Record<string, unknown>).parts.join(',')}}`;
}

/** An object's members in canonical order (`"key":value`, undefined values left out), with
 * their keys. The default sort compares UTF-16 code units, which is the canonical order. */
function members(value: Record<string, unknown>): { keys: string[]; parts: string[] } {
  const keys: string[] = [];
  const parts: string[] = [];
  for (const k of Object.keys(value).sort()) {
    const v = value[k];
    if (v === undefined) continue;
    keys.push(k);
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return { keys, parts };
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

const lines = new WeakMap<ChainedRecord, string>();

/** Links records onto a head; returns the sealed records and the new head. */
export function seal(head: ChainHead, records: readonly AuditRecord[]): { sealed: ChainedRecord[]; head: ChainHead } {
  let { seq, hash } = head;
  const sealed: ChainedRecord[] = [];
  for (const r of records) {
    seq += 1;
    const linked = { ...bounded(r), seq, prev: hash } as Record<string, unknown>;
    delete linked.hash;
    // Serialised once: the hashed text (hashOf) and the line (encodeChainedLine) are the same
    // members, the line with `hash` in its sorted place.
    const { keys, parts } = members(linked);
    hash = createHash('sha256').update(`{${parts.join(',')}}`).digest('hex');
    linked.hash = hash;
    const at = keys.findIndex((k) => k > 'hash');
    parts.splice(at === -1 ? parts.length : at, 0, `"hash":${JSON.stringify(hash)}`);
    const record = linked as unknown as ChainedRecord;
    lines.set(record, `{${parts.join(',')}}\n`);
    sealed.push(record);
  }
  return { sealed, head: { seq, hash } };
}

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
