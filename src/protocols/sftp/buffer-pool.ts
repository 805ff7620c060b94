// Reused buffers for the two big per-request byte blocks of SFTP: the READ reply (header + up
// to 255 KiB of file) and the WRITE request being reassembled from the channel's 32 KiB
// pieces. One process-wide free list of buffers of one size, whatever the session.
//
// Why: a fresh 255 KiB buffer per request is an mmap/munmap pair and a page fault per 4 KiB;
// worse, Node accounts every ArrayBuffer as external memory, and V8 answers external memory
// growth with scavenges and mark-compacts: at 1 GiB/s of fresh buffers, whole transfers ran in
// a storm of major collections (bench/README.md, SFTP).
import { LIMITS } from '../../config/limits.ts';
import { DATA_HEADER_BYTES } from './constants.ts';

/** Large enough for the largest packet we accept and for the largest READ reply we build. */
export const POOLED_BUFFER_BYTES = Math.max(LIMITS.sftpMaxPacketBytes, DATA_HEADER_BYTES + LIMITS.sftpMaxReadWriteBytes);

const free: Buffer[] = [];
const pooled = new WeakSet<ArrayBufferLike>();

/** A buffer of at least `size` bytes: a pooled one when it fits, else a fresh one. Only the
 * first `size` bytes are the caller's: the rest may hold an earlier request's bytes. */
export function acquireBuffer(size: number): Buffer {
  if (size > POOLED_BUFFER_BYTES) return Buffer.allocUnsafe(size);
  const buf = free.pop();
  if (buf) return buf;
  const fresh = Buffer.allocUnsafeSlow(POOLED_BUFFER_BYTES);
  pooled.add(fresh.buffer);
  return fresh;
}

/** The pool memory under `buf` (any view of it), or null for a buffer that is not pooled. */
export function pooledMemory(buf: Buffer): ArrayBufferLike | null {
  return pooled.has(buf.buffer) ? buf.buffer : null;
}

/** Gives pooled memory back, once nothing will read or write it again. Other buffers are
 * ignored (the garbage collector takes them). */
export function releaseBuffer(buf: Buffer | ArrayBufferLike | null | undefined): void {
  if (!buf) return;
  const memory = Buffer.isBuffer(buf) ? buf.buffer : buf;
  if (!pooled.has(memory)) return;
  // SECURITY: never listed twice (two requests sharing one buffer would mix their bytes).
  if (free.length >= LIMITS.sftpPooledBuffers || free.some((b) => b.buffer === memory)) return;
  free.push(Buffer.from(memory, 0, POOLED_BUFFER_BYTES));
}

/** Free buffers now held (tests). */
export function pooledBuffersFree(): number {
  return free.length;
}
