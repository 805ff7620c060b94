// Pull-style reading of an SSH channel for the SCP adapter: bytes, bounded lines, and chunks
// of file data. At most `maxBuffered` bytes wait here: beyond that the channel is paused, ssh2
// stops opening the window, and the client waits (back-pressure), so memory stays bounded
// whatever the client sends.
import type { Readable } from 'node:stream';

export type Line = { ok: true; bytes: Buffer } | { ok: false; reason: 'too-long' | 'eof' };

export class ChannelReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly stream: Readable,
    private readonly maxBuffered: number,
  ) {
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= this.maxBuffered) stream.pause();
      this.notify();
    });
    const end = () => {
      this.ended = true;
      this.notify();
    };
    stream.once('end', end);
    stream.once('close', end);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits for at least one byte; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.buffered === 0) {
      if (this.ended) return false;
      if (this.stream.isPaused()) this.stream.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return true;
  }

  private consume(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (n >= first.length) {
      this.chunks.shift();
      out = first;
    } else {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    }
    this.buffered -= out.length;
    if (this.buffered < this.maxBuffered && this.stream.isPaused() && !this.ended) this.stream.resume();
    return out;
  }

  /** Up to `max` bytes (at least one), or null at the end of the stream. */
  async take(max: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    return this.consume(Math.min(max, this.chunks[0]!.length));
  }

  /** One byte, or null at the end of the stream. */
  async byte(): Promise<number | null> {
    const b = await this.take(1);
    return b ? b[0]! : null;
  }

  /** A line without its LF, at most `max` bytes: a longer one is refused, never truncated. */
  async line(max: number): Promise<Line> {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      if (!(await this.fill())) return { ok: false, reason: 'eof' };
      const first = this.chunks[0]!;
      const nl = first.indexOf(0x0a);
      const upto = nl === -1 ? first.length : nl;
      // SECURITY: bounded before anything is kept.
      if (length + upto > max) return { ok: false, reason: 'too-long' };
      parts.push(Buffer.from(this.consume(upto)));
      length += upto;
      if (nl !== -1) {
        this.consume(1);
        return { ok: true, bytes: Buffer.concat(parts, length) };
      }
    }
  }

  /** Nothing more will be read: let the channel flow (bytes are dropped). */
  discard(): void {
    this.chunks.length = 0;
    this.buffered = 0;
    this.stream.removeAllListeners('data');
    this.stream.resume();
  }
}
