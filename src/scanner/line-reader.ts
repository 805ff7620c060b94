import { ScanError } from './errors.ts';

/**
 * Bounded CRLF/LF line splitter for untrusted control channels. An overlong line is a protocol
 * error, never truncated (cf. vsftpd ftpcmdio.c).
 */
export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  readonly lines: string[] = [];
  constructor(private readonly maxLineBytes: number) {}

  /** Feed bytes; returns the number of complete lines now queued. Throws on an overlong line. */
  push(chunk: Buffer): number {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let nl: number;
    while ((nl = this.buf.indexOf(0x0a)) !== -1) {
      if (nl > this.maxLineBytes) throw new ScanError('ERR_SCAN_PROTOCOL', `line longer than ${this.maxLineBytes} bytes`);
      let end = nl;
      if (end > 0 && this.buf[end - 1] === 0x0d) end--;
      this.lines.push(this.buf.subarray(0, end).toString('latin1'));
      this.buf = this.buf.subarray(nl + 1);
    }
    if (this.buf.length > this.maxLineBytes) throw new ScanError('ERR_SCAN_PROTOCOL', `line longer than ${this.maxLineBytes} bytes`);
    return this.lines.length;
  }

  /** Bytes received after the last complete line (e.g. the start of a binary SSH packet). */
  rest(): Buffer {
    return this.buf;
  }
}
