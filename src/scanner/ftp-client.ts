// Minimal FTP/FTPS client for probing: bounded replies, explicit and implicit TLS, passive data
// channels that only ever connect back to the control connection's peer.
import net from 'node:net';
import tls from 'node:tls';
import { ScanError } from './errors.ts';
import { LineReader } from './line-reader.ts';
import { LIMITS } from './limits.ts';

export interface FtpReply {
  code: number;
  lines: string[];
  /** The reply text without the code prefixes, lines joined by "\n". */
  text: string;
}

export function formatReply(r: FtpReply): string {
  return r.lines.join(' | ');
}

/** Parse complete reply lines (RFC 959 §4.2 multi-line form); returns undefined if incomplete. */
export function parseReply(lines: readonly string[]): { reply: FtpReply; consumed: number } | undefined {
  const first = lines[0];
  if (first === undefined) return undefined;
  const m = /^(\d{3})([ -])(.*)$/.exec(first);
  if (!m) {
    // Some servers send a bare code ("220") or garbage: treat a bare 3-digit line as a reply.
    if (/^\d{3}$/.test(first)) return { reply: { code: Number(first), lines: [first], text: '' }, consumed: 1 };
    throw new ScanError('ERR_SCAN_PROTOCOL', `malformed FTP reply line: ${first.slice(0, 80)}`);
  }
  const code = m[1]!;
  if (m[2] === ' ') return { reply: { code: Number(code), lines: [first], text: m[3]! }, consumed: 1 };
  const texts = [m[3]!];
  for (let i = 1; i < lines.length; i++) {
    if (i >= LIMITS.maxReplyLines) throw new ScanError('ERR_SCAN_PROTOCOL', `reply longer than ${LIMITS.maxReplyLines} lines`);
    const line = lines[i]!;
    if (line.startsWith(`${code} `)) {
      texts.push(line.slice(4));
      return { reply: { code: Number(code), lines: lines.slice(0, i + 1), text: texts.join('\n') }, consumed: i + 1 };
    }
    texts.push(line.startsWith(`${code}-`) ? line.slice(4) : line.replace(/^ /, ''));
  }
  if (lines.length >= LIMITS.maxReplyLines) throw new ScanError('ERR_SCAN_PROTOCOL', `reply longer than ${LIMITS.maxReplyLines} lines`);
  return undefined;
}

export interface FtpConnectOptions {
  host: string;
  port: number;
  implicitTls: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  tlsOptions?: tls.ConnectionOptions;
}

/** Permissive TLS client options used to *talk to* weak servers (not to judge them). */
export function probeTlsOptions(host: string): tls.ConnectionOptions {
  return {
    rejectUnauthorized: false,
    minVersion: 'TLSv1',
    ciphers: 'ALL:@SECLEVEL=0',
    ...(net.isIP(host) ? {} : { servername: host }),
  };
}

export function connectTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => fail(new ScanError('ERR_SCAN_TIMEOUT', `connect to ${host}:${port} timed out`)), timeoutMs);
    const onAbort = (): void => fail(new ScanError('ERR_SCAN_BUDGET', 'target time limit reached'));
    signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.off('error', fail);
    }
    function fail(err: Error): void {
      cleanup();
      sock.destroy();
      reject(err);
    }
    sock.once('error', fail);
    sock.once('connect', () => {
      cleanup();
      // An error after connecting (a reset data connection, say) must never reach the process as
      // an unhandled 'error' event: it ends the socket, and whoever reads it sees the close.
      sock.on('error', () => sock.destroy());
      resolve(sock);
    });
  });
}

/** Wrap a connected socket in TLS and wait for the handshake (or its failure). */
export function startTls(socket: net.Socket, opts: tls.ConnectionOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ ...opts, socket });
    const timer = setTimeout(() => fail(new ScanError('ERR_SCAN_TIMEOUT', 'TLS handshake timed out')), timeoutMs);
    const onClose = (): void => fail(new ScanError('ERR_SCAN_CLOSED', 'connection closed during TLS handshake'));
    function fail(err: Error): void {
      clearTimeout(timer);
      t.off('error', fail);
      t.off('close', onClose);
      t.destroy();
      socket.destroy();
      reject(err);
    }
    t.once('error', fail);
    t.once('close', onClose);
    t.once('secureConnect', () => {
      clearTimeout(timer);
      t.off('error', fail);
      t.off('close', onClose);
      resolve(t);
    });
  });
}

export class FtpConnection {
  private reader = new LineReader(LIMITS.maxLineBytes);
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  /** Latest TLS session seen on the control connection (for data-channel resumption). */
  tlsSession: Buffer | undefined;
  readonly remoteAddress: string;
  readonly localAddress: string;

  private constructor(
    public socket: net.Socket | tls.TLSSocket,
    private readonly timeoutMs: number,
    readonly host: string,
  ) {
    this.remoteAddress = (socket.remoteAddress ?? host).replace(/^::ffff:/, '');
    this.localAddress = (socket.localAddress ?? '').replace(/^::ffff:/, '');
    this.attach(socket);
  }

  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  /** The time limit for one network operation (--timeout). */
  get timeout(): number {
    return this.timeoutMs;
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.failure = err as Error;
      this.socket.destroy();
    }
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.closed = true;
    this.wake();
  };
  private readonly onError = (err: Error): void => {
    this.failure ??= err;
    this.closed = true;
    this.wake();
  };

  private attach(s: net.Socket | tls.TLSSocket): void {
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
    s.on('error', this.onError);
    if (s instanceof tls.TLSSocket) s.on('session', (sess: Buffer) => (this.tlsSession = sess));
  }

  private detach(s: net.Socket | tls.TLSSocket): void {
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onError);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  static async connect(o: FtpConnectOptions): Promise<{ conn: FtpConnection; greeting: FtpReply }> {
    const raw = await connectTcp(o.host, o.port, o.timeoutMs, o.signal);
    let sock: net.Socket | tls.TLSSocket = raw;
    if (o.implicitTls) sock = await startTls(raw, o.tlsOptions ?? probeTlsOptions(o.host), o.timeoutMs);
    const conn = new FtpConnection(sock, o.timeoutMs, o.host);
    try {
      let greeting = await conn.read();
      // 120 "service ready in nnn minutes" precedes the real greeting.
      if (greeting.code === 120) greeting = await conn.read();
      return { conn, greeting };
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Read one complete reply. */
  async read(timeoutMs = this.timeoutMs): Promise<FtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseReply(this.reader.lines);
      if (parsed) {
        this.reader.lines.splice(0, parsed.consumed);
        return parsed.reply;
      }
      if (this.failure) throw this.failure;
      if (this.closed) throw new ScanError('ERR_SCAN_CLOSED', 'server closed the control connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new ScanError('ERR_SCAN_TIMEOUT', 'timed out waiting for an FTP reply');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async cmd(line: string, timeoutMs?: number): Promise<FtpReply> {
    if (/[\r\n]/.test(line)) throw new ScanError('ERR_SCAN_UNSAFE', 'CR/LF in an FTP command');
    if (this.closed) throw new ScanError('ERR_SCAN_CLOSED', 'server closed the control connection');
    this.socket.write(`${line}\r\n`);
    return this.read(timeoutMs);
  }

  /** After a 234 reply to AUTH TLS/SSL: upgrade the control connection. */
  async upgrade(opts: tls.ConnectionOptions = probeTlsOptions(this.host)): Promise<tls.TLSSocket> {
    const raw: net.Socket = this.socket;
    this.detach(raw);
    const t = await startTls(raw, opts, this.timeoutMs);
    this.socket = t;
    this.tlsSession = t.getSession();
    this.attach(t);
    return t;
  }

  /** Hand the raw socket over (e.g. to a TLS probe after AUTH TLS); this connection is then unusable. */
  release(): net.Socket {
    this.detach(this.socket);
    this.closed = true;
    return this.socket;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Best-effort QUIT then close. */
  async quit(): Promise<void> {
    try {
      if (!this.closed) await this.cmd('QUIT', Math.min(this.timeoutMs, 2000));
    } catch {
      // ignore: we are leaving anyway
    } finally {
      this.close();
    }
  }
}

export interface PasvInfo {
  advertisedHost: string;
  port: number;
  reply: FtpReply;
}

export function parsePasv(reply: FtpReply): PasvInfo | undefined {
  const m = /(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})/.exec(reply.text);
  if (!m) return undefined;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return undefined;
  return { advertisedHost: n.slice(0, 4).join('.'), port: n[4]! * 256 + n[5]!, reply };
}

export function parseEpsv(reply: FtpReply): number | undefined {
  const m = /\(([!-~])\1\1(\d{1,5})\1\)/.exec(reply.text);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? port : undefined;
}

/**
 * Open a passive data channel. SECURITY: the data connection always goes to the control
 * connection's peer, whatever address PASV advertised (following it is the bug we report).
 */
export async function openPassive(conn: FtpConnection, protect: boolean): Promise<{ pasv: PasvInfo | undefined; socket: net.Socket; replies: FtpReply[] }> {
  const replies: FtpReply[] = [];
  let port: number | undefined;
  let pasv: PasvInfo | undefined;
  const r = await conn.cmd('PASV');
  replies.push(r);
  if (r.code === 227) {
    pasv = parsePasv(r);
    port = pasv?.port;
  }
  if (port === undefined) {
    const e = await conn.cmd('EPSV');
    replies.push(e);
    if (e.code === 229) port = parseEpsv(e);
  }
  if (port === undefined) throw new ScanError('ERR_SCAN_PROTOCOL', `no passive data port: ${replies.map(formatReply).join(' ; ')}`);
  const raw = await connectTcp(conn.remoteAddress, port, conn.timeout);
  if (!protect) return { pasv, socket: raw, replies };
  // The server starts its TLS accept only after the transfer command; the handshake completes then.
  const t = tls.connect({ ...probeTlsOptions(conn.host), socket: raw, ...(conn.tlsSession ? { session: conn.tlsSession } : {}) });
  t.on('error', () => t.destroy());
  return { pasv, socket: t, replies };
}

function collect(sock: net.Socket, max: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    sock.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
      else sock.destroy();
    });
    const done = (): void => resolve(Buffer.concat(chunks));
    sock.once('close', done);
    sock.once('end', done);
  });
}

/** LIST (or NLST) over a passive channel; bounded size and time. */
export async function passiveList(conn: FtpConnection, protect: boolean, command = 'LIST'): Promise<{ pasv: PasvInfo | undefined; listing: string; replies: FtpReply[]; ok: boolean }> {
  const { pasv, socket, replies } = await openPassive(conn, protect);
  try {
    const body = collect(socket, LIMITS.maxListingBytes);
    const prelim = await conn.cmd(command);
    replies.push(prelim);
    if (prelim.code !== 150 && prelim.code !== 125) return { pasv, listing: '', replies, ok: false };
    let timer: NodeJS.Timeout | undefined;
    const data = await Promise.race([body, new Promise<Buffer>((resolve) => (timer = setTimeout(() => resolve(Buffer.alloc(0)), conn.timeout)))]);
    clearTimeout(timer);
    const final = await conn.read();
    replies.push(final);
    return { pasv, listing: data.toString('latin1'), replies, ok: final.code === 226 || final.code === 250 };
  } finally {
    socket.destroy();
  }
}

/** STOR a small probe file over a passive channel; returns true when the server confirmed it (226/250). */
export async function passiveStore(conn: FtpConnection, protect: boolean, name: string, content: Buffer): Promise<{ stored: boolean; replies: FtpReply[] }> {
  const { socket, replies } = await openPassive(conn, protect);
  try {
    const prelim = await conn.cmd(`STOR ${name}`);
    replies.push(prelim);
    if (prelim.code !== 150 && prelim.code !== 125) return { stored: false, replies };
    // Resolves on the server's reset too: the reply on the control connection says what happened.
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end(content, () => resolve());
    });
    const final = await conn.read();
    replies.push(final);
    return { stored: final.code === 226 || final.code === 250, replies };
  } finally {
    socket.destroy();
  }
}
