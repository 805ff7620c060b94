// JSON-lines sink: one record per line in DATADIR/audit/audit.jsonl, appended in order.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { LIMITS } from '../../config/limits.ts';
import type { Audit } from '../audit.ts';
import type { AuditRecord } from '../events.ts';

export function encodeAuditLine(record: AuditRecord): string {
  let line = JSON.stringify(record);
  if (Buffer.byteLength(line) > LIMITS.maxAuditRecordBytes) {
    line = JSON.stringify({ ts: record.ts, event: record.event, truncated: true, connectionId: record.connectionId, user: record.user });
  }
  return `${line}\n`;
}

export class JsonlAuditSink {
  private readonly stream: WriteStream;
  private readonly unsubscribe: () => void;

  constructor(audit: Audit, dataDir: string) {
    const dir = path.join(dataDir, 'audit');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.stream = createWriteStream(path.join(dir, 'audit.jsonl'), { flags: 'a', mode: 0o600 });
    this.stream.on('error', (err) => process.emitWarning(`audit file: ${err.message}`));
    this.unsubscribe = audit.subscribe((r) => this.stream.write(encodeAuditLine(r)));
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
