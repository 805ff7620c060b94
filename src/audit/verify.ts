// `portcullis audit verify`: walks the trail (every JSON-lines file in order, then the store's
// copy) and checks each record's hash, its sequence number and its link to the record before
// it, then compares where the trail ends with the chain head kept in the store. It names the
// first record where the chain breaks and why: edited, deleted, reordered, truncated. Each line
// is read with a strict parser (a duplicate key is a break, never "the last one wins") and must
// be exactly the canonical form of what it holds; each store row's indexed columns (what
// `audit search` filters on) must equal the ones its chained record implies.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { AuditRepository, StoredChainRow } from '../store/audit-repository.ts';
import { canonicalJson, type ChainHead, GENESIS, hashOf, type IndexedColumns, indexedColumns } from './chain.ts';
import { parseStrictJson, StrictJsonError } from '../json/strict-json.ts';
import { trailFiles } from './trail-files.ts';

export type ProblemKind =
  | 'unparsable'
  | 'duplicate-key'
  | 'non-canonical'
  | 'edited'
  | 'column-mismatch'
  | 'unchained'
  | 'missing'
  | 'reordered'
  | 'broken-link'
  | 'truncated'
  | 'past-head'
  | 'head-mismatch'
  | 'torn';

const COLUMNS = ['ts', 'event', 'user_name', 'remote_address', 'protocol', 'connection_id'] as const satisfies readonly (keyof IndexedColumns)[];

export interface VerifyProblem {
  kind: ProblemKind;
  /** `audit.jsonl line 12`, `store seq 40`, or `end of trail`. */
  where: string;
  seq?: number;
  message: string;
}

export interface ChainReport {
  source: 'files' | 'store';
  records: number;
  /** The last record walked (what the trail says its head is). */
  last: ChainHead;
  problems: VerifyProblem[];
  /** The files start here: older records were removed by audit.retention (and say so in the chain). */
  retainedFrom?: number;
  /** Store rows written before the chain existed (migration 0004): searched, not verifiable. */
  unchainedBefore?: number;
}

export interface VerifyReport {
  ok: boolean;
  head: ChainHead | null;
  files: ChainReport | null;
  store: ChainReport | null;
  /** Not failures: e.g. the store behind the files after a store outage. */
  notes: string[];
}

const MAX_PROBLEMS = 50;

/** Checks records fed in trail order. */
export class ChainChecker {
  private expected = 1;
  private prev = GENESIS;
  private lost = false;
  records = 0;
  last: ChainHead = { seq: 0, hash: GENESIS };
  readonly problems: VerifyProblem[] = [];

  private report(p: VerifyProblem): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(p);
  }

  /** Where retention cut the files: first kept seq → hash of the record before it, from the
   * chained `audit.retention.removed` records (themselves verified by the walk). */
  constructor(private readonly anchors: ReadonlyMap<number, string> = new Map()) {}

  /** Set when the walk started after records removed by retention: the first seq kept. */
  startedAt: number | null = null;

  /** The row id of the last store row walked (ids follow seq: `audit search` orders by id). */
  private lastRowId = -Infinity;

  /** One raw line (or stored record text) at `where`; `startOfFile` marks a file's line 1;
   * `stored` is the store row the text came from (its columns are checked against the record). */
  feed(text: string, where: string, options: { startOfFile?: boolean; stored?: StoredChainRow } = {}): void {
    let r: Record<string, unknown>;
    let canonical: boolean;
    try {
      // Fast path: a line that re-encodes to itself is canonical, and a canonical line has no
      // duplicate key (re-encoding keeps one of each). Anything else goes through the strict
      // parser, which names what is wrong.
      r = JSON.parse(text) as Record<string, unknown>;
      canonical = canonicalJson(r) === text;
      // SECURITY: JSON.parse keeps the last of two equal keys, grep shows the first: refuse both.
      if (!canonical) r = parseStrictJson(text) as Record<string, unknown>;
      if (typeof r !== 'object' || r === null || Array.isArray(r) || typeof r.seq !== 'number' || typeof r.prev !== 'string' || typeof r.hash !== 'string') throw new Error('not a chained record');
    } catch (err) {
      if (err instanceof StrictJsonError && err.kind === 'duplicate-key') this.report({ kind: 'duplicate-key', where, message: `${where}: ${err.message}: the line says two things (a reader may see either)` });
      else this.report({ kind: 'unparsable', where, message: `${where}: not a complete chained record (edited or truncated)` });
      this.lost = true;
      return;
    }
    // SECURITY: the bytes stored are the bytes hashed: any other spelling of the same record
    // (spaces, key order, escapes) was not written by the trail writer.
    if (!canonical) this.report({ kind: 'non-canonical', where, seq: r.seq, message: `${where}: record seq ${r.seq} is not in canonical form (sorted keys, no whitespace): it was rewritten` });
    const stored = options.stored;
    if (stored) {
      const expected = indexedColumns(r);
      for (const c of COLUMNS) {
        if (stored.columns[c] !== expected[c]) {
          this.report({ kind: 'column-mismatch', where, seq: r.seq, message: `${where}: column ${c} is ${JSON.stringify(stored.columns[c])} but the chained record says ${JSON.stringify(expected[c])}: the searched columns were edited` });
        }
      }
      if (stored.seq !== r.seq) this.report({ kind: 'column-mismatch', where, seq: r.seq, message: `${where}: column seq is ${stored.seq} but the chained record says ${r.seq}` });
      if (stored.id <= this.lastRowId) this.report({ kind: 'reordered', where, seq: r.seq, message: `${where}: row id ${stored.id} is not after the previous record's row (${this.lastRowId}): search would list it out of order` });
      this.lastRowId = stored.id;
    }
    this.records++;
    const seq = r.seq;
    const claimed = r.hash;
    const actual = hashOf(r);
    if (actual !== claimed || (stored !== undefined && stored.hash !== claimed)) {
      this.report({ kind: 'edited', where, seq, message: `${where}: record seq ${seq} does not match its hash: it was edited` });
    } else if (this.lost) {
      // The break was reported at the unreadable record; pick the chain up again here.
    } else if (this.expected === 1 && this.records === 1 && seq > 1 && this.anchors.get(seq) === r.prev) {
      // The oldest files were removed by audit.retention, which recorded this record's prev.
      this.startedAt = seq;
    } else if (seq > this.expected) {
      const range = seq - 1 === this.expected ? `seq ${this.expected} is` : `seqs ${this.expected}-${seq - 1} are`;
      const hint = options.startOfFile ? ' (a rotated file removed?)' : ' (deleted or moved)';
      this.report({ kind: 'missing', where, seq, message: `${where}: expected seq ${this.expected}, found seq ${seq}: ${range} missing before it${hint}` });
    } else if (seq < this.expected) {
      this.report({ kind: 'reordered', where, seq, message: `${where}: seq ${seq} comes after seq ${this.expected - 1}: records reordered or duplicated` });
    } else if (r.prev !== this.prev) {
      this.report({ kind: 'broken-link', where, seq, message: `${where}: record seq ${seq} does not link to the record before it (previous hash differs)` });
    }
    this.lost = false;
    if (seq >= this.expected) {
      this.expected = seq + 1;
      this.prev = claimed;
    }
    this.last = { seq, hash: claimed };
  }

  /** Compares the end of the walk with the head kept in the store. `headAfter` (the store's
   * own rows, written with the head in one transaction): rows past the head read after the walk
   * are a break; past the files' head they are only a note (the files go on alone while the
   * store is down). */
  finish(head: ChainHead | null, whereEnd: string, headAfter?: ChainHead): void {
    if (!head) return;
    // A live server goes on writing during the walk: only the head read after it bounds the rows.
    if (headAfter && this.last.seq > headAfter.seq) {
      this.report({ kind: 'past-head', where: whereEnd, seq: this.last.seq, message: `${whereEnd}: records run to seq ${this.last.seq}, past the chain head (seq ${headAfter.seq}): rows were added behind the writer's back` });
    }
    if (head.seq > this.last.seq) {
      const range = head.seq === this.last.seq + 1 ? `seq ${head.seq} is` : `seqs ${this.last.seq + 1}-${head.seq} are`;
      this.report({ kind: 'truncated', where: whereEnd, seq: this.last.seq, message: `${whereEnd}: the trail ends at seq ${this.last.seq} but the chain head in the store is seq ${head.seq}: ${range} missing (truncated)` });
    } else if (head.seq === this.last.seq && head.hash !== this.last.hash && head.seq > 0) {
      this.report({ kind: 'head-mismatch', where: whereEnd, seq: head.seq, message: `${whereEnd}: the last record (seq ${head.seq}) is not the one the store's chain head names` });
    }
  }
}

/** The anchors left by retention: lines of `audit.retention.removed` records in the files. */
async function retentionAnchors(files: string[]): Promise<Map<number, string>> {
  const anchors = new Map<number, string>();
  for (const file of files) {
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (!line.includes('"event":"audit.retention.removed"')) continue;
      try {
        const r = parseStrictJson(line) as { lastSeq?: unknown; lastHash?: unknown };
        if (typeof r.lastSeq === 'number' && typeof r.lastHash === 'string') anchors.set(r.lastSeq + 1, r.lastHash);
      } catch {
        // the walk reports it
      }
    }
  }
  return anchors;
}

export async function verifyFiles(dir: string, head: ChainHead | null): Promise<ChainReport> {
  const checker = new ChainChecker(await retentionAnchors(trailFiles(dir)));
  let lastWhere = 'the trail (no files)';
  for (const file of trailFiles(dir)) {
    const name = path.basename(file);
    let lineNo = 0;
    let endsWithNewline = true;
    const input = createReadStream(file);
    input.on('data', (c: Buffer | string) => {
      if (c.length > 0) endsWithNewline = (typeof c === 'string' ? c.endsWith('\n') : c[c.length - 1] === 0x0a);
    });
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      if (line.length === 0) continue;
      checker.feed(line, `${name} line ${lineNo}`, { startOfFile: lineNo === 1 });
    }
    if (!endsWithNewline) checker.problems.push({ kind: 'torn', where: `${name} line ${lineNo}`, message: `${name} line ${lineNo}: the file ends inside a record (truncated)` });
    lastWhere = `${name} after line ${lineNo}`;
  }
  checker.finish(head, lastWhere);
  return { source: 'files', records: checker.records, last: checker.last, problems: checker.problems, ...(checker.startedAt !== null && { retainedFrom: checker.startedAt }) };
}

export async function verifyStore(repo: AuditRepository, head: ChainHead): Promise<ChainReport> {
  const checker = new ChainChecker();
  let after = 0;
  for (;;) {
    const page = await repo.chainPage(after, 1000);
    if (page.length === 0) break;
    for (const row of page) checker.feed(row.record, `store seq ${row.seq}`, { stored: row });
    after = page[page.length - 1]!.seq;
  }
  checker.finish(head, 'end of the store', await repo.head());
  const unchained = await repo.unchainedRows();
  if (unchained.after > 0) {
    checker.problems.push({ kind: 'unchained', where: `store row id ${unchained.firstAfterId}`, message: `store row id ${unchained.firstAfterId}: ${unchained.after} row(s) without a place in the chain (seq null) added after the chain began: \`audit search\` shows them, nothing vouches for them` });
  }
  return { source: 'store', records: checker.records, last: checker.last, problems: checker.problems, unchainedBefore: unchained.before };
}

export async function verifyTrail(options: { dir: string | null; repo: AuditRepository | null }): Promise<VerifyReport> {
  const head = options.repo ? await options.repo.head() : null;
  const files = options.dir ? await verifyFiles(options.dir, head) : null;
  const store = options.repo && head ? await verifyStore(options.repo, head) : null;
  const notes: string[] = [];
  if (files?.retainedFrom) notes.push(`the files start at seq ${files.retainedFrom}: seqs 1-${files.retainedFrom - 1} were removed by audit.retention (recorded in the chain; the store keeps its copy)`);
  if (store?.unchainedBefore) notes.push(`${store.unchainedBefore} store row(s) predate the hash chain (written before migration 0004): \`audit search\` shows them, \`verify\` cannot vouch for them`);
  if (files && head && files.last.seq > head.seq) notes.push(`the files run to seq ${files.last.seq}, past the store's head (seq ${head.seq}): the store missed writes (was it unavailable?)`);
  const ok = (files?.problems.length ?? 0) === 0 && (store?.problems.length ?? 0) === 0;
  return { ok, head, files, store, notes };
}
