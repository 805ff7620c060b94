// The JSON-lines files of the audit trail in DATADIR/audit: `audit.jsonl` is written, rotated
// files are `audit-<first seq, 15 digits>.jsonl`, so a plain sort lists the trail in order and
// the chain runs on from one file into the next. Writes are synchronous appends by path (never
// through a long-lived descriptor), so a rotation by another process is always seen.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { LIMITS } from '../config/limits.ts';
import { type ChainedRecord, type ChainHead, encodeChainedLine, GENESIS } from './chain.ts';

export const CURRENT_FILE = 'audit.jsonl';
const ROTATED = /^audit-(\d{15})(?:-\d+)?\.jsonl$/;

export function auditDir(dataDir: string): string {
  return path.join(dataDir, 'audit');
}

/** The trail's files in chain order: rotated files by first seq, then the current file. */
export function trailFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir);
  const rotated = names.filter((n) => ROTATED.test(n)).sort();
  return [...rotated, ...(names.includes(CURRENT_FILE) ? [CURRENT_FILE] : [])].map((n) => path.join(dir, n));
}

function readAt(file: string, position: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, position);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Rotated files kept (audit.retention): at most `files` (0: all), none older than `days` (0: any). */
export interface Retention {
  files: number;
  days: number;
}

/** What a retention pass removed: the files, and the chain position the kept files start after. */
export interface Removed {
  files: string[];
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
}

/** Errors that mean "no room" (the disk, a quota, the file size limit): the trail waits and retries. */
export const NO_ROOM = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL']);

export class TrailFiles {
  readonly current: string;

  constructor(
    readonly dir: string,
    private readonly rotateBytes: number,
    private readonly retention: Retention = { files: 0, days: 0 },
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.current = path.join(dir, CURRENT_FILE);
  }

  /** Called with what each retention pass removed (the sink writes it into the chain). */
  onRemoved: ((removed: Removed) => void) | null = null;

  /** Appends sealed records, rotating first when the current file would pass rotateBytes. A
   * failed append (disk full) is cut back to where it started: never a torn line in the chain. */
  append(records: readonly ChainedRecord[]): void {
    if (records.length === 0) return;
    const data = records.map(encodeChainedLine).join('');
    let size = sizeOf(this.current);
    if (size > 0 && size + Buffer.byteLength(data) > this.rotateBytes) {
      this.rotate();
      size = 0;
    }
    try {
      appendFileSync(this.current, data, { mode: 0o600 });
    } catch (err) {
      // SECURITY: a partial append would leave half a record, and every later record after it.
      try {
        if (existsSync(this.current)) truncateSync(this.current, size);
      } catch {
        // truncating needs no space; if even that fails, verify reports the torn line
      }
      throw err;
    }
  }

  private rotate(): void {
    const first = this.firstSeqOf(this.current);
    let name = `audit-${String(first).padStart(15, '0')}.jsonl`;
    if (existsSync(path.join(this.dir, name))) name = `audit-${String(first).padStart(15, '0')}-${Date.now()}.jsonl`;
    renameSync(this.current, path.join(this.dir, name));
    this.applyRetention();
  }

  /** Removes the oldest rotated files past the retention policy; the last record of the newest
   * removed file anchors the chain for `verify` (reported through onRemoved). */
  applyRetention(now = Date.now()): void {
    const { files: keep, days } = this.retention;
    if (keep === 0 && days === 0) return;
    const rotated = trailFiles(this.dir).filter((f) => path.basename(f) !== CURRENT_FILE);
    let cut = keep > 0 ? Math.max(0, rotated.length - keep) : 0;
    if (days > 0) {
      for (let i = cut; i < rotated.length; i++) {
        let mtime = now;
        try {
          mtime = statSync(rotated[i]!).mtimeMs;
        } catch {
          // gone meanwhile
        }
        if (now - mtime > days * 86_400_000) cut = i + 1;
      }
    }
    if (cut === 0) return;
    const removed = rotated.slice(0, cut);
    const last = lastRecordOf(removed[removed.length - 1]!);
    const firstSeq = Number(ROTATED.exec(path.basename(removed[0]!))?.[1] ?? 0);
    for (const f of removed) unlinkSync(f);
    this.onRemoved?.({ files: removed.map((f) => path.basename(f)), firstSeq, lastSeq: last.seq, lastHash: last.hash });
  }

  private firstSeqOf(file: string): number {
    const head = readAt(file, 0, LIMITS.maxAuditRecordBytes + 4096).toString('utf8');
    try {
      return Number((JSON.parse(head.slice(0, head.indexOf('\n'))) as { seq?: unknown }).seq) || 0;
    } catch {
      return 0;
    }
  }

  /** The head as the files see it: the last complete record of the newest non-empty file. */
  tailHead(): ChainHead {
    for (const file of trailFiles(this.dir).reverse()) {
      const head = lastRecordOf(file);
      if (head.seq > 0) return head;
    }
    return { seq: 0, hash: GENESIS };
  }
}

/** The last complete record of one file ({0, GENESIS} when it has none). */
function lastRecordOf(file: string): ChainHead {
  const size = sizeOf(file);
  if (size === 0) return { seq: 0, hash: GENESIS };
  const len = Math.min(size, LIMITS.maxAuditRecordBytes * 2 + 4096);
  const text = readAt(file, size - len, len).toString('utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const r = JSON.parse(lines[i]!) as { seq?: unknown; hash?: unknown };
      if (typeof r.seq === 'number' && typeof r.hash === 'string') return { seq: r.seq, hash: r.hash };
    } catch {
      // a torn last line: look further back
    }
  }
  return { seq: 0, hash: GENESIS };
}
