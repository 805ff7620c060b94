// SFTP packets: framing of the channel byte stream, a bounds-checked reader for untrusted
// payloads, and a writer for replies. Every read checks the remaining length first; a packet
// that lies about a length is malformed, and a malformed packet ends the connection.
import { PortcullisError } from '../../errors/index.ts';
import { acquireBuffer } from './buffer-pool.ts';

/** A packet that cannot be parsed: fatal for the connection (never answered). */
export class MalformedPacketError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'MalformedPacketError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Checked reads over one packet payload. */
export class SftpReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.remaining < n) throw new MalformedPacketError(`truncated ${what}`);
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u32(what = 'uint32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A uint64 that must fit a JavaScript safe integer (offsets, sizes). */
  u64(what = 'uint64'): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedPacketError(`${what} out of range`);
    return Number(v);
  }

  /** A length-prefixed byte string (a view, not a copy). */
  bytes(what = 'string'): Buffer {
    const len = this.u32(`${what} length`);
    this.need(len, what);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** A UTF-8 string such as a path. Bytes that are not UTF-8 fail the request, not the connection. */
  text(what = 'string'): string {
    const raw = this.bytes(what);
    try {
      return utf8.decode(raw);
    } catch {
      throw new PortcullisError('ERR_VFS_INVALID_PATH', `${what} is not UTF-8`);
    }
  }
}

/** Packets from this size up that span chunks are reassembled in pooled buffers. */
const POOL_FROM_BYTES = 16 * 1024;

/**
 * Splits the channel stream into packets (uint32 length + payload). A packet that arrives
 * whole in one chunk is a view of it (no copy). A packet spread over several chunks is copied
 * once: a large one (a 255 KiB WRITE comes as eight 32 KiB channel chunks) into a pooled
 * buffer as its pieces arrive, so the channel's chunks die young instead of waiting for the
 * rest of the packet (buffer-pool.ts says why that matters). Give a payload back with
 * `releaseBuffer` once its request is done.
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The large packet being filled, when one has started. */
  private assembling: { buf: Buffer; len: number; filled: number } | null = null;

  constructor(private readonly maxPacketBytes: number) {}

  /** Bytes received and not yet handed out as packets. */
  get bufferedBytes(): number {
    return this.buffered + (this.assembling?.filled ?? 0);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  private peek4(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return this.take(4, false).readUInt32BE(0);
  }

  private take(n: number, consume = true): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (consume) this.consume(n);
      return out;
    }
    const out = n >= POOL_FROM_BYTES ? acquireBuffer(n).subarray(0, n) : Buffer.allocUnsafe(n);
    this.copyOut(out, 0, n);
    if (consume) this.consume(n);
    return out;
  }

  private copyOut(out: Buffer, at: number, n: number): void {
    let copied = 0;
    for (let i = 0; copied < n; i++) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - copied);
      c.copy(out, at + copied, 0, k);
      copied += k;
    }
  }

  private consume(n: number): void {
    // SECURITY: one splice, not a shift per chunk: a client sending 1-byte channel packets
    // must not make reassembly quadratic.
    let left = n;
    let whole = 0;
    while (left > 0 && this.chunks[whole]!.length <= left) left -= this.chunks[whole++]!.length;
    if (whole > 0) this.chunks.splice(0, whole);
    if (left > 0) this.chunks[0] = this.chunks[0]!.subarray(left);
    this.buffered -= n;
  }

  /** The next complete packet payload, or null when more bytes are needed. */
  next(): Buffer | null {
    const a = this.assembling;
    if (a) {
      const n = Math.min(a.len - a.filled, this.buffered);
      this.copyOut(a.buf, a.filled, n);
      this.consume(n);
      a.filled += n;
      if (a.filled < a.len) return null;
      this.assembling = null;
      return a.buf.subarray(0, a.len);
    }
    if (this.buffered < 4) return null;
    const len = this.peek4();
    // SECURITY: bounded before anything is buffered for it (limits@openssh.com max-packet-length).
    if (len < 5) throw new MalformedPacketError(`packet length ${len} too small`);
    if (len > this.maxPacketBytes) throw new MalformedPacketError(`packet length ${len} over the ${this.maxPacketBytes}-byte limit`);
    if (this.buffered >= 4 + len) {
      this.take(4);
      return this.take(len);
    }
    if (len >= POOL_FROM_BYTES) {
      // A large packet still on its way: start filling its buffer with what is here.
      this.take(4);
      this.assembling = { buf: acquireBuffer(len), len, filled: 0 };
      return this.next();
    }
    return null;
  }
}

/** Builds one reply packet in one buffer (grown when needed): no part list, no concat. */
export class PacketWriter {
  private buf: Buffer;
  private pos = 4; // the length goes in front on finish()

  constructor(type: number, id?: number) {
    this.buf = Buffer.allocUnsafe(256);
    this.u8(type);
    if (id !== undefined) this.u32(id);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  /** A non-negative integer up to Number.MAX_SAFE_INTEGER (sizes, offsets, counts). */
  u64(v: number): this {
    const n = Math.max(0, Math.floor(v)) || 0;
    const high = Math.floor(n / 0x1_0000_0000);
    this.ensure(8);
    this.buf.writeUInt32BE(high >>> 0, this.pos);
    this.buf.writeUInt32BE((n - high * 0x1_0000_0000) >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }

  string(v: string | Buffer): this {
    if (typeof v !== 'string') return this.u32(v.length).raw(v);
    const len = Buffer.byteLength(v, 'utf8');
    this.u32(len);
    this.ensure(len);
    this.pos += this.buf.write(v, this.pos, len, 'utf8');
    return this;
  }

  raw(b: Buffer): this {
    this.ensure(b.length);
    this.pos += b.copy(this.buf, this.pos);
    return this;
  }

  /** The framed packet: uint32 length + payload. */
  finish(): Buffer {
    this.buf.writeUInt32BE(this.pos - 4, 0);
    return this.buf.subarray(0, this.pos);
  }
}
