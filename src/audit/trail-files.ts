// The JSON-lines files of the audit trail in DATADIR/audit: `audit.jsonl` is written, rotated
// files are `audit-<first seq, 15 digits>.jsonl`, so a plain sort lists the trail in order and
// the chain runs on from one file into the next. Writes are synchronous appends by path (never
// through a long-lived descriptor), so a rotation by another process is always seen.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync } from 'node:fs';
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

export class TrailFiles {
  readonly current: string;

  constructor(
    readonly dir: string,
    private readonly rotateBytes: number,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.current = path.join(dir, CURRENT_FILE);
  }

  /** Appends sealed records, rotating first when the current file would pass rotateBytes. */
  append(records: readonly ChainedRecord[]): void {
    if (records.length === 0) return;
    const data = records.map(encodeChainedLine).join('');
    const size = sizeOf(this.current);
    if (size > 0 && size + Buffer.byteLength(data) > this.rotateBytes) this.rotate();
    appendFileSync(this.current, data, { mode: 0o600 });
  }

  private rotate(): void {
    const first = this.firstSeqOf(this.current);
    let name = `audit-${String(first).padStart(15, '0')}.jsonl`;
    if (existsSync(path.join(this.dir, name))) name = `audit-${String(first).padStart(15, '0')}-${Date.now()}.jsonl`;
    renameSync(this.current, path.join(this.dir, name));
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
      const size = sizeOf(file);
      if (size === 0) continue;
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
    }
    return { seq: 0, hash: GENESIS };
  }
}
