// Store sink: batches records into the audit table in emission order, off the hot path.
import type { AuditRepository } from '../../store/audit-repository.ts';
import type { Audit } from '../audit.ts';
import type { AuditRecord } from '../events.ts';

export class StoreAuditSink {
  private queue: AuditRecord[] = [];
  private flushing: Promise<void> | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    audit: Audit,
    private readonly repo: AuditRepository,
  ) {
    this.unsubscribe = audit.subscribe((r) => {
      this.queue.push(r);
      this.flushing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Yield once so a burst of events lands in one insert.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.repo.insert(batch);
      } catch (err) {
        process.emitWarning(`audit store: ${(err as Error).message}`);
      }
    }
    this.flushing = null;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    while (this.flushing) await this.flushing;
  }
}
