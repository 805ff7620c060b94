// Reused buffers for the two big per-request byte blocks of SFTP: the READ reply (header + up
// to 255 KiB of file) and the WRITE request being reassembled from the channel's 32 KiB
// pieces. Two process-wide free lists, whatever the session: a small class for requests of up
// to 32 KiB (what OpenSSH's sftp, paramiko and most clients send) and a large one for the
// largest packet we accept.
//
// Why: a fresh 255 KiB buffer per request is an mmap/munmap pair and a page fault per 4 KiB;
// worse, Node accounts every ArrayBuffer as external memory, and V8 answers external memory
// growth with scavenges and mark-compacts: at 1 GiB/s of fresh buffers, whole transfers ran in
// a storm of major collections (bench/README.md, SFTP). Why two classes: a client reading
// 32 KiB at a time (paramiko, `sftp -B 32768`) keeps 64 READs in flight; with one class of
// 257 KiB buffers the pool kept only 32 of them (8 MiB), so every other READ took a fresh
// 257 KiB buffer (bench/sftp-download-cpu.ts with BUFFER=32768: 9 mark-compacts per 512 MiB
// and 2.26 s/GB of server CPU, against 0 and 1.31 s/GB with the small class). Large READs are
// kept within the pool by the per-session READ budget (sftp-server.ts).
import { LIMITS } from '../../config/limits.ts';
import { DATA_HEADER_BYTES } from './constants.ts';

/** Large enough for the largest packet we accept and for the largest READ reply we build. */
export const POOLED_BUFFER_BYTES = Math.max(LIMITS.sftpMaxPacketBytes, DATA_HEADER_BYTES + LIMITS.sftpMaxReadWriteBytes);
/** The small class: a READ reply or a WRITE packet of 32 KiB of data, with room for the header
 * (a WRITE carries a handle of up to LIMITS.sftpMaxHandleBytes). */
export const SMALL_POOLED_BUFFER_BYTES = 33 * 1024;

interface SizeClass {
  readonly bytes: number;
  readonly cap: number;
  readonly free: Buffer[];
}

const small: SizeClass = { bytes: SMALL_POOLED_BUFFER_BYTES, cap: LIMITS.sftpPooledSmallBuffers, free: [] };
const large: SizeClass = { bytes: POOLED_BUFFER_BYTES, cap: LIMITS.sftpPooledBuffers, free: [] };
/** Every pooled memory block and its class. */
const classOf = new WeakMap<ArrayBufferLike, SizeClass>();
/** The blocks on a free list now. */
const listed = new WeakSet<ArrayBufferLike>();

/** A buffer of at least `size` bytes: a pooled one when it fits, else a fresh one. Only the
 * first `size` bytes are the caller's: the rest may hold an earlier request's bytes. */
export function acquireBuffer(size: number): Buffer {
  if (size > POOLED_BUFFER_BYTES) return Buffer.allocUnsafe(size);
  const sizeClass = size <= small.bytes ? small : large;
  const buf = sizeClass.free.pop();
  if (buf) {
    listed.delete(buf.buffer);
    return buf;
  }
  const fresh = Buffer.allocUnsafeSlow(sizeClass.bytes);
  classOf.set(fresh.buffer, sizeClass);
  return fresh;
}

/** The pool memory under `buf` (any view of it), or null for a buffer that is not pooled. */
export function pooledMemory(buf: Buffer): ArrayBufferLike | null {
  return classOf.has(buf.buffer) ? buf.buffer : null;
}

/** Gives pooled memory back, once nothing will read or write it again. Other buffers are
 * ignored (the garbage collector takes them). */
export function releaseBuffer(buf: Buffer | ArrayBufferLike | null | undefined): void {
  if (!buf) return;
  const memory = Buffer.isBuffer(buf) ? buf.buffer : buf;
  const sizeClass = classOf.get(memory);
  if (!sizeClass) return;
  // SECURITY: never listed twice (two requests sharing one buffer would mix their bytes).
  if (listed.has(memory) || sizeClass.free.length >= sizeClass.cap) return;
  listed.add(memory);
  sizeClass.free.push(Buffer.from(memory, 0, sizeClass.bytes));
}

/** Free buffers now held, both classes (tests). */
export function pooledBuffersFree(): number {
  return small.free.length + large.free.length;
}
