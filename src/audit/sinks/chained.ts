// The audit trail writer: seals every record into the hash chain and writes it to the store's
// audit_events table (which keeps the chain head) and to the JSON-lines files, in emission
// order, batched off the hot path. With the store on, the chain head row is the lock shared by
// every writer (server, CLI commands, other nodes). With the store off, the files' last record
// is the head (one writing process at a time).
import { LIMITS } from '../../config/limits.ts';
import type { AuditRepository } from '../../store/audit-repository.ts';
import type { Audit } from '../audit.ts';
import { type ChainedRecord, seal } from '../chain.ts';
import type { AuditRecord } from '../events.ts';
import type { TrailFiles } from '../trail-files.ts';

export interface ChainedSinkOptions {
  files: TrailFiles | null;
  repo: AuditRepository | null;
}

export type SealedListener = (records: readonly ChainedRecord[]) => void;

export class ChainedAuditSink {
  private queue: AuditRecord[] = [];
  private flushing: Promise<void> | null = null;
  private readonly unsubscribe: () => void;
  private readonly listeners = new Set<SealedListener>();

  constructor(
    audit: Audit,
    private readonly options: ChainedSinkOptions,
  ) {
    this.unsubscribe = audit.subscribe((r) => {
      this.queue.push(r);
      this.flushing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Yield once so a burst of events lands in one transaction.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, LIMITS.auditBatchRecords);
      try {
        await this.write(batch);
      } catch (err) {
        process.emitWarning(`audit trail: ${(err as Error).message}`);
      }
    }
    this.flushing = null;
  }

  private async write(batch: AuditRecord[]): Promise<void> {
    const { files, repo } = this.options;
    let sealed: ChainedRecord[];
    if (repo) {
      try {
        // A file that cannot be written must not cost the store its copy: the store (and its
        // head) stay ahead, and `audit verify` reports the file as truncated.
        sealed = await repo.append(batch, (s) => this.appendFile(s));
      } catch (err) {
        if (!files) throw err;
        // The store is down: keep the file trail going from its own head; `audit verify`
        // reports the store behind the files.
        process.emitWarning(`audit store: ${(err as Error).message}; records kept in the files only`);
        sealed = seal(files.tailHead(), batch).sealed;
        files.append(sealed);
      }
    } else if (files) {
      sealed = seal(files.tailHead(), batch).sealed;
      files.append(sealed);
    } else return;
    for (const l of this.listeners) {
      try {
        l(sealed);
      } catch {
        // a listener must not stop the trail
      }
    }
  }

  /** Calls `fn` with every batch once sealed (sequence numbers known). */
  onSealed(fn: SealedListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private fileFailing = false;

  private appendFile(sealed: ChainedRecord[]): void {
    try {
      this.options.files?.append(sealed);
      this.fileFailing = false;
    } catch (err) {
      if (!this.fileFailing) process.emitWarning(`audit file: ${(err as Error).message}`);
      this.fileFailing = true;
    }
  }

  /** Resolves when everything emitted so far is written. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.flush();
  }
}
