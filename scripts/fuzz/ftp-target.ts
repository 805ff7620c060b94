// Fuzz target: the FTP line reader, command parser and command table, driven through the real
// FTPS adapter over loopback TCP (in this process, so that coverage is measured). The fuzzing
// configuration allows plain-text logins (ftps.allowPlaintext) so that the commands after login
// are reached without a TLS handshake per input. An input is a list of command lines sent on one
// logged-in connection, followed by a marker; a 227/229 reply gets a data connection opened to it.
import net from 'node:net';
import { LIMITS } from '../../src/config/limits.ts';
import { LineReader } from '../../src/protocols/ftp/line-reader.ts';
import { mutateBytes, type Rng } from './mutate.ts';
import type { Target } from './target.ts';
import { FuzzHang, FuzzInternal } from './sftp-target.ts';

export interface FtpInput {
  lines: Buffer[];
}

const SEED_LINES = [
  'PWD', 'CWD /', 'CDUP', 'TYPE I', 'TYPE A', 'MODE S', 'STRU F', 'SYST', 'FEAT', 'HELP', 'HELP SITE', 'NOOP', 'STAT', 'STAT /', 'STAT a.txt',
  'OPTS UTF8 ON', 'OPTS MLST type;size;modify;', 'OPTS HASH SHA-256', 'HASH a.txt', 'MLST a.txt', 'MLSD', 'NLST', 'LIST -la', 'SIZE a.txt', 'MDTM a.txt',
  'MFMT 20240101000000 a.txt', 'MKD d', 'RMD d', 'XMKD e', 'XRMD e', 'RNFR a.txt', 'RNTO b.txt', 'RNFR b.txt', 'RNTO a.txt', 'DELE nothing', 'REST 5', 'REST 0',
  'EPSV', 'EPSV ALL', 'PASV', 'PORT 127,0,0,1,4,1', 'EPRT |1|127.0.0.1|1025|', 'EPRT |2|::1|1025|', 'RETR a.txt', 'STOR up.txt', 'APPE up.txt', 'STOU',
  'ABOR', 'ALLO 100', 'PBSZ 0', 'PROT P', 'PROT C', 'CCC', 'SITE CHMOD 644 a.txt', 'SITE HELP', 'CLNT fuzz', 'LANG EN', 'ACCT x', 'SMNT /', 'REIN', 'AUTH TLS',
  'CWD ../../..', 'RETR ../../etc/passwd', 'SIZE /../../etc/shadow', 'MKD \x1b[31mred', 'USER fuzz', 'PASS fuzz-password-long-enough',
];

export class FtpTarget implements Target<FtpInput> {
  readonly name = 'ftp';
  private sock: net.Socket | null = null;
  private buf = '';
  private waiters: (() => void)[] = [];

  constructor(
    private readonly port: number,
    private readonly user: string,
    private readonly password: string,
    private readonly onInternal: () => number,
  ) {}

  seeds(): FtpInput[] {
    const out: FtpInput[] = [];
    for (let i = 0; i < SEED_LINES.length; i += 4) out.push({ lines: SEED_LINES.slice(i, i + 6).map((l) => Buffer.from(l)) });
    out.push({ lines: ['EPSV', 'LIST'].map((l) => Buffer.from(l)) }, { lines: ['PASV', 'RETR a.txt'].map((l) => Buffer.from(l)) }, { lines: ['EPSV', 'STOR up.txt'].map((l) => Buffer.from(l)) });
    return out;
  }

  mutate(input: FtpInput, rng: Rng, donor: FtpInput): FtpInput {
    const lines = [...input.lines];
    for (let c = 1 + rng.int(3); c > 0; c--) {
      const i = rng.int(lines.length);
      switch (rng.int(8)) {
        case 0:
          lines.splice(i, 1);
          break;
        case 1:
          lines.splice(i, 0, Buffer.from(rng.pick(SEED_LINES)));
          break;
        case 2:
          lines.splice(i, 0, rng.pick(donor.lines));
          break;
        case 3:
          // A long argument (the line bound, path lengths).
          if (lines[i]) lines[i] = Buffer.concat([lines[i], Buffer.alloc(rng.pick([100, 255, 511, 1024, 4096, 9000]), rng.pick(['a', '/', '.', '%', '\xff']))]);
          break;
        default:
          if (lines[i]) lines[i] = mutateBytes(lines[i], rng, rng.pick(donor.lines));
      }
    }
    if (lines.length === 0) lines.push(Buffer.from('NOOP'));
    if (lines.length > 24) lines.length = 24;
    return { lines };
  }

  serialize(input: FtpInput): Buffer {
    return Buffer.from(JSON.stringify(input.lines.map((l) => l.toString('base64'))));
  }

  deserialize(data: Buffer): FtpInput {
    return { lines: (JSON.parse(data.toString()) as string[]).map((l) => Buffer.from(l, 'base64')) };
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async connect(timeoutMs: number): Promise<void> {
    const sock = net.connect({ port: this.port, host: '127.0.0.1' });
    this.sock = sock;
    this.buf = '';
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => {
      this.buf += c;
      if (this.buf.length > 1 << 20) this.buf = this.buf.slice(-65536);
      this.openDataConnections(c);
      this.wake();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.sock === sock) this.sock = null;
      this.wake();
    });
    await this.until((b) => /^220 /m.test(b), timeoutMs, 'no banner');
    sock.write(`USER ${this.user}\r\nPASS ${this.password}\r\n`);
    await this.until((b) => /^230 /m.test(b), timeoutMs, 'no login');
  }

  /** Replies 227/229 name a passive port: connect, send a little, read, close. */
  private openDataConnections(chunk: string): void {
    for (const m of chunk.matchAll(/^229 [^(]*\(\|\|\|(\d+)\|\)/gm)) this.touchData(Number(m[1]));
    for (const m of chunk.matchAll(/^227 [^(]*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/gm)) this.touchData(Number(m[5]) * 256 + Number(m[6]));
  }

  private touchData(port: number): void {
    const d = net.connect({ port, host: '127.0.0.1' });
    d.on('error', () => undefined);
    d.on('data', () => undefined);
    d.setTimeout(2_000, () => d.destroy());
    d.on('connect', () => d.end('fuzz data\n'));
  }

  private async until(test: (b: string) => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!test(this.buf)) {
      if (!this.sock) throw new FuzzClosed(what);
      const left = end - Date.now();
      if (left <= 0) throw new FuzzHang(`${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async run(input: FtpInput, timeoutMs: number): Promise<void> {
    const before = this.onInternal();
    if (!this.sock) await this.connect(timeoutMs);
    this.buf = '';
    // Lines are sent as the client wrote them (a LF inside one makes two commands, telnet IAC
    // sequences are stripped, as on the wire), then a NOOP. The server's own line reader says
    // how many commands that is: each gets one final reply (1xx replies are preliminary).
    const body = Buffer.concat([...input.lines.flatMap((l) => [l, Buffer.from('\r\n')]), Buffer.from('NOOP\r\n')]);
    const expected = new LineReader(LIMITS.ftpMaxLineBytes).push(body).length;
    this.sock!.write(body);
    try {
      await this.until((b) => {
        // AUTH TLS accepted: the server now waits for a handshake and discards clear text.
        if (/^234 /m.test(b)) {
          this.sock?.destroy();
          this.sock = null;
          return true;
        }
        return (b.match(/^[2-5]\d\d (?:.*)$/gm)?.length ?? 0) >= expected;
      }, timeoutMs, `${expected} replies`);
    } catch (err) {
      if (!(err instanceof FuzzClosed)) throw err;
    }
    if (this.onInternal() > before) throw new FuzzInternal('the server logged an internal error (a bug in a handler)');
  }

  async close(): Promise<void> {
    this.sock?.destroy();
  }
}

class FuzzClosed extends Error {}
