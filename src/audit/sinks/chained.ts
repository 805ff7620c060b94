// The audit trail writer: seals every record into the hash chain and writes it to the store's
// audit_events table (which keeps the chain head) and to the JSON-lines files, in emission
// order, batched off the hot path (records are gathered for LIMITS.auditFlushDelayMs). With
// the store on, the chain head row is the lock shared by every writer (server, CLI commands,
// other nodes). With the store off, the files' last record is the head (one writing process at
// a time).
// Floods (issue 14.6): an AuditGovernor decides what of a user's file operations is written
// (aggregated repeats, per-session and per-user budgets). A full disk: a batch that finds no
// room is rolled back in the store and cut back in the file, kept in memory (up to
// LIMITS.auditPendingMaxRecords; beyond, counted by event) and retried every
// LIMITS.auditRetryMs; meanwhile `accepting` is false (Core.openSession refuses new sessions)
// and `audit.storage.failed` goes to the notice listeners (alerts) at once.
import { LIMITS } from '../../config/limits.ts';
import type { AuditRepository } from '../../store/audit-repository.ts';
import type { Audit } from '../audit.ts';
import { type ChainedRecord, seal } from '../chain.ts';
import type { AuditEvent, AuditRecord } from '../events.ts';
import type { AuditGovernor } from '../governor.ts';
import { NO_ROOM, type TrailFiles } from '../trail-files.ts';

export interface ChainedSinkOptions {
  files: TrailFiles | null;
  repo: AuditRepository | null;
  governor?: AuditGovernor | null;
}

const noRoom = (err: unknown): boolean => NO_ROOM.has(String((err as { code?: unknown } | null)?.code));

export type SealedListener = (records: readonly ChainedRecord[]) => void;

export class ChainedAuditSink {
  private queue: AuditRecord[] = [];
  private flushing: Promise<void> | null = null;
  private readonly unsubscribe: () => void;
  private readonly listeners = new Set<SealedListener>();

  private readonly notices = new Set<(r: AuditRecord) => void>();
  /** Set while the trail cannot be written (no room): since when, and what was lost meanwhile. */
  private failing: { since: string; lost: Map<string, number> } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly dueTimer: NodeJS.Timeout | null = null;

  constructor(
    audit: Audit,
    private readonly options: ChainedSinkOptions,
  ) {
    const governor = options.governor;
    this.unsubscribe = audit.subscribe((r) => {
      for (const x of governor ? governor.admit(r) : [r]) this.enqueue(x, x !== r);
    });
    if (governor) {
      this.dueTimer = setInterval(() => this.enqueueDue(false), Math.min(LIMITS.auditAggregateIntervalMs, LIMITS.auditBudgetWindowMs) / 4);
      this.dueTimer.unref();
    }
    if (options.files) options.files.onRemoved = (removed) => this.enqueue(this.record({ type: 'audit.retention.removed', ...removed, reason: 'audit.retention' }), true);
  }

  /** False while the trail cannot be written (disk full): no new session may start. */
  get accepting(): boolean {
    return this.failing === null;
  }

  /** Records made here (not on the bus: summaries, budget and storage notices) as they are made. */
  onNotice(fn: (r: AuditRecord) => void): () => void {
    this.notices.add(fn);
    return () => this.notices.delete(fn);
  }

  private record(e: AuditEvent): AuditRecord {
    return { ts: new Date().toISOString(), event: e.type, ...e };
  }

  private enqueue(r: AuditRecord, notice: boolean): void {
    if (notice) {
      for (const fn of this.notices) {
        try {
          fn(r);
        } catch {
          // a listener must not stop the trail
        }
      }
    }
    if (this.failing && this.queue.length >= LIMITS.auditPendingMaxRecords) {
      // SECURITY: never silently: what did not fit is counted and written once there is room.
      this.failing.lost.set(r.event, (this.failing.lost.get(r.event) ?? 0) + 1);
      return;
    }
    this.queue.push(r);
    if (this.queue.length >= LIMITS.auditBatchRecords) this.wake?.();
    if (!this.failing) this.flushing ??= this.drain();
  }

  private enqueueDue(all: boolean): void {
    for (const r of this.options.governor?.due(all) ?? []) this.enqueue(r, true);
  }

  /** Ends the current gathering wait early (a full batch, flush, close). */
  private wake: (() => void) | null = null;

  /** When the last transaction started (performance.now()). */
  private lastWriteAt = -Infinity;

  private async drain(): Promise<void> {
    // The transaction, not the record, is what costs (small files over SFTP/FTPS emit one
    // record each). A record after a quiet spell is written at once (after one turn of the
    // event loop, so a burst lands together); while records keep coming, transactions are at
    // least LIMITS.auditFlushDelayMs apart and each takes everything gathered meanwhile.
    const wait = this.lastWriteAt + LIMITS.auditFlushDelayMs - performance.now();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        clearImmediate(immediate);
        this.wake = null;
        resolve();
      };
      const timer = wait > 0 ? setTimeout(done, wait) : undefined;
      const immediate = wait > 0 ? undefined : setImmediate(done);
      this.wake = done;
    });
    this.lastWriteAt = performance.now();
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, LIMITS.auditBatchRecords);
      try {
        await this.write(batch);
      } catch (err) {
        if (noRoom(err)) {
          // Nothing of the batch was kept (store rolled back, file cut back): it stays queued.
          this.fail(err as Error);
          break;
        }
        process.emitWarning(`audit trail: ${(err as Error).message}`);
      }
      this.queue.splice(0, batch.length);
      if (this.failing) this.recovered();
    }
    this.flushing = null;
  }

  private fail(err: Error): void {
    if (!this.failing) {
      this.failing = { since: new Date().toISOString(), lost: new Map() };
      process.emitWarning(`audit trail: cannot write (${(err as { code?: string }).code}): new sessions are refused until it can; records wait in memory`);
      const code = String((err as { code?: unknown }).code);
      this.enqueue(this.record({ type: 'audit.storage.failed', code, detail: `${err.message.slice(0, 200)}: new sessions are refused until the trail can be written` }), true);
    }
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = null;
      this.flushing ??= this.drain();
    }, LIMITS.auditRetryMs);
  }

  private recovered(): void {
    const f = this.failing!;
    this.failing = null;
    const lost = [...f.lost.values()].reduce((a, n) => a + n, 0);
    this.enqueue(this.record({ type: 'audit.storage.recovered', since: f.since, lost, events: Object.fromEntries(f.lost) }), true);
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
        // The file had no room (the store rolled back): both wait. The store had none: files go on.
        if (!files || (noRoom(err) && (err as { code?: unknown }).code !== 'SQLITE_FULL')) throw err;
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
      // No room: roll the store back too, so both copies wait and stay one chain.
      if (noRoom(err)) throw err;
      if (!this.fileFailing) process.emitWarning(`audit file: ${(err as Error).message}`);
      this.fileFailing = true;
    }
  }

  /** Resolves when everything emitted so far is written (pending summaries included), or
   * when the trail cannot be written (they wait in memory). */
  async flush(): Promise<void> {
    this.enqueueDue(true);
    while (this.flushing) {
      this.wake?.();
      await this.flushing;
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.dueTimer) clearInterval(this.dueTimer);
    await this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.failing) process.emitWarning(`audit trail: ${this.queue.length} record(s) could not be written before shutdown (no room since ${this.failing.since})`);
  }
}
