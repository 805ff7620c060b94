// Streaming reader for IIS W3C extended log files: the `#Fields:` directive decides the columns
// and may change mid-file; `-` means empty; lines are read one at a time, never the whole file.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export type W3cRecord = Readonly<Record<string, string>>;

export interface W3cLine {
  record: W3cRecord;
  /** Source line number, for messages. */
  line: number;
}

/** Parse one data line against the current fields; undefined when the column count disagrees. */
export function parseW3cLine(fields: readonly string[], text: string): W3cRecord | undefined {
  const values = text.trim().split(/\s+/);
  if (values.length !== fields.length) return undefined;
  const out: Record<string, string> = {};
  fields.forEach((f, i) => {
    const v = values[i]!;
    out[f] = v === '-' ? '' : v;
  });
  return out;
}

export interface ReadStats {
  lines: number;
  records: number;
  /** Data lines that did not match their `#Fields:` (or came before any). */
  malformed: number;
  bytes: number;
}

/** Yields the records of one file; `onBytes` reports progress as the stream advances. */
export async function* readW3c(file: string, stats: ReadStats, onBytes?: (bytes: number) => void): AsyncGenerator<W3cLine> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  let last = 0;
  stream.on('data', () => {
    const delta = stream.bytesRead - last;
    last = stream.bytesRead;
    stats.bytes += delta;
    onBytes?.(delta);
  });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let fields: string[] | undefined;
  let n = 0;
  for await (const raw of rl) {
    n++;
    stats.lines++;
    if (raw.startsWith('#')) {
      const m = /^#Fields:\s*(.*)$/.exec(raw);
      if (m) fields = m[1]!.trim().split(/\s+/);
      continue;
    }
    if (!raw.trim()) continue;
    const record = fields ? parseW3cLine(fields, raw) : undefined;
    if (!record) {
      stats.malformed++;
      continue;
    }
    stats.records++;
    yield { record, line: n };
  }
}
