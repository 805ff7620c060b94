// Gives the C allocator's free memory back to the system after connections close (issue 21).
//
// Why: every SSH or TLS handshake allocates native memory on the main thread (OpenSSL contexts
// and keys, Node's handles and buffers, SQLite's page cache for the audit rows) through glibc's
// malloc. When the connections close, that memory is freed, but glibc gives its main heap back
// to the system only from the top: free chunks below the highest one still in use (a cached
// SQLite page, a prepared statement) stay resident for good. Measured with
// bench/session-memory.ts, the clients in another process: 4 cycles of 1,000 sessions left
// anonymous memory tens of MiB above its start with the V8 heap, external memory and live
// native allocations (heaptrack) flat. glibc's malloc_trim(0) returns those free pages
// (madvise), which no setting does (the trim and mmap thresholds only concern the top of the heap
// and large blocks), so it is called here, a few seconds after connections have closed and again
// after the garbage collection that frees their objects' native memory.
//
// malloc_trim is reached through node:ffi (Node 26; experimental). Where it is not reachable
// (not glibc, a Node without node:ffi, the permission model without --allow-ffi), nothing is
// trimmed and the server runs as before.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Audit } from '../audit/audit.ts';
import { LIMITS } from '../config/limits.ts';

/** The part of node:ffi used here (its types are not in @types/node yet). */
interface Ffi {
  dlopen(path: string, definitions: Record<string, { arguments: string[]; return: string }>): { functions: Record<string, (...args: unknown[]) => unknown> };
}

/** glibc's malloc_trim(0), or null where it cannot be called. */
export async function loadMallocTrim(): Promise<(() => void) | null> {
  if (process.platform !== 'linux') return null;
  // node:ffi announces itself with an ExperimentalWarning on stderr when loaded; the one
  // function used here is a libc call, so that warning alone is kept quiet (the caller logs
  // that trimming is on).
  const saved = Object.getOwnPropertyDescriptor(process, 'emitWarning');
  const emit = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (typeof warning === 'string' && warning.startsWith('FFI is an experimental')) return;
    emit(warning, ...rest);
  });
  try {
    const specifier = 'node:ffi'; // a variable: @types/node 24 does not declare the module
    const ffi = (await import(specifier)) as Ffi;
    const trim = ffi.dlopen('libc.so.6', { malloc_trim: { arguments: ['uint64'], return: 'int32' } }).functions.malloc_trim!;
    return () => void trim(0n);
  } catch {
    return null; // musl or another libc, no node:ffi, or FFI not allowed
  } finally {
    if (saved) Object.defineProperty(process, 'emitWarning', saved);
  }
}

/** Calls `trim` once `LIMITS.memoryTrimDelayMs` after a connection closes, and again that long
 * after the next major garbage collection: much of a connection's native memory (cipher and
 * hash contexts, handles) is freed only when the collector finalizes its JavaScript objects,
 * which may be well after the close. At most one pending call at a time however many close, and
 * none while no connection closes. */
export class MemoryTrim {
  private timer: NodeJS.Timeout | undefined;
  /** A connection closed since the last major collection: the next one frees its memory. */
  private closedSinceGc = false;
  private readonly unsubscribe: () => void;
  private readonly gcObserver: PerformanceObserver;

  constructor(
    audit: Audit,
    private readonly trim: () => void,
    private readonly delayMs: number = LIMITS.memoryTrimDelayMs,
  ) {
    this.unsubscribe = audit.subscribe((r) => {
      if (r.type !== 'conn.closed') return;
      this.closedSinceGc = true;
      this.schedule();
    });
    this.gcObserver = new PerformanceObserver((list) => {
      if (!this.closedSinceGc) return;
      if (!list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) return;
      this.closedSinceGc = false;
      this.schedule();
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.trim();
    }, this.delayMs);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.gcObserver.disconnect();
    this.unsubscribe();
  }
}
