// The bounded FTP control-line reader (vsftpd's ftpcmdio.c is the model). Bytes in, complete
// lines out. Telnet IAC sequences are removed (IAC IAC is a literal 0xFF); an overlong line is
// never truncated into a command: it is discarded up to its LF and reported once.

export type LineEvent = { kind: 'line'; bytes: Buffer } | { kind: 'overlong' };

const IAC = 0xff;
const WILL = 0xfb;
const DONT = 0xfe;
const LF = 0x0a;
const CR = 0x0d;

export class LineReader {
  private parts: Buffer[] = [];
  private length = 0;
  private discarding = false;
  /** 0: data; 1: after IAC; 2: after IAC WILL/WONT/DO/DONT (one option byte follows). */
  private telnet: 0 | 1 | 2 = 0;

  /** @param maxBytes longest line accepted, CRLF included. */
  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    const clean = this.stripTelnet(chunk);
    let start = 0;
    while (start <= clean.length) {
      const lf = clean.indexOf(LF, start);
      const end = lf === -1 ? clean.length : lf;
      const piece = clean.subarray(start, end);
      if (!this.discarding) {
        this.length += piece.length;
        // SECURITY: bounded: the line (with its CRLF) may not exceed maxBytes.
        if (this.length + (lf === -1 ? 0 : 1) > this.maxBytes) {
          this.discarding = true;
          this.parts = [];
          this.length = 0;
        } else if (piece.length > 0) this.parts.push(Buffer.from(piece));
      }
      if (lf === -1) break;
      if (this.discarding) events.push({ kind: 'overlong' });
      else {
        let line = Buffer.concat(this.parts, this.length);
        if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
        events.push({ kind: 'line', bytes: line });
      }
      this.discarding = false;
      this.parts = [];
      this.length = 0;
      start = lf + 1;
    }
    return events;
  }

  /** Bytes buffered after the last complete line (a pipelined command). */
  get pending(): number {
    return this.length;
  }

  /**
   * Forgets everything buffered (a partial line, a Telnet sequence in progress) and returns how
   * many line bytes that was. SECURITY: called when the transport changes (AUTH TLS), so that
   * nothing received before the change can become part of a line read after it.
   */
  discard(): number {
    const dropped = this.length;
    this.parts = [];
    this.length = 0;
    this.discarding = false;
    this.telnet = 0;
    return dropped;
  }

  private stripTelnet(chunk: Buffer): Buffer {
    if (this.telnet === 0 && !chunk.includes(IAC)) return chunk;
    const out = Buffer.allocUnsafe(chunk.length);
    let n = 0;
    for (const b of chunk) {
      if (this.telnet === 2) {
        this.telnet = 0; // the option byte of WILL/WONT/DO/DONT
      } else if (this.telnet === 1) {
        if (b === IAC) {
          out[n++] = IAC;
          this.telnet = 0;
        } else if (b >= WILL && b <= DONT) this.telnet = 2;
        else this.telnet = 0; // IP, DM, AYT…: a two-byte command, dropped
      } else if (b === IAC) this.telnet = 1;
      else out[n++] = b;
    }
    return out.subarray(0, n);
  }
}
