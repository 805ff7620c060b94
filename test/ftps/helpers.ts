// Shared set-up for the FTPS black-box suites: a real server in-process, a user, test files,
// a small raw FTP client for hostile input, and checks for required client binaries.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import tls from 'node:tls';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';

export const USER = 'alice';
export const PASSWORD = 'correct horse battery staple';
export const MiB = 1024 * 1024;

export interface FtpsFixture {
  srv: TestServer;
  explicitPort: number;
  implicitPort: number;
  home: string;
  caFile: string;
  work: string;
}

type Config = Parameters<typeof startTestServer>[1];

export async function startFtps(t: TestContext, config: Config = {}): Promise<FtpsFixture> {
  const srv = await startTestServer(t, { sftp: { enabled: false }, ...config });
  await srv.addUser(USER, { password: PASSWORD });
  const home = path.join(srv.dataDir, 'home', USER);
  await mkdir(home, { recursive: true });
  return { srv, explicitPort: srv.port('ftps (explicit)'), implicitPort: srv.port('ftps (implicit)'), home, caFile: path.join(srv.dataDir, 'tls', 'cert.pem'), work: await makeTempDir(t, 'portcullis-ftps-') };
}

/** A file of random bytes; returns its path and sha256. */
export async function randomFile(dir: string, name: string, size: number): Promise<{ file: string; sha256: string }> {
  const file = path.join(dir, name);
  const chunk = randomBytes(MiB);
  const h = createHash('sha256');
  const parts: Buffer[] = [];
  for (let left = size; left > 0; left -= MiB) parts.push(left >= MiB ? chunk : chunk.subarray(0, left));
  const data = Buffer.concat(parts);
  h.update(data);
  await writeFile(file, data);
  return { file, sha256: h.digest('hex') };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Fails (never skips) with a clear message when a client binary is missing. */
export async function requireBinary(t: TestContext, name: string, hint: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('sh', ['-c', `command -v ${name}`], (err) => (err ? reject(new Error(`${name} is required for this test but is not installed (${hint})`)) : resolve()));
  });
  void t;
}

export function run(cmd: string, args: string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * MiB, cwd: options.cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

// ------------------------------------------------------------------ a raw FTP client

export interface Reply {
  code: number;
  text: string;
}

/** A minimal FTP client that sends exactly what the test says, for hostile input. */
export class RawFtp {
  socket: net.Socket;
  private buffer = '';
  private waiters: ((r: Reply | null) => void)[] = [];
  private replies: (Reply | null)[] = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(s: net.Socket): void {
    s.setEncoding('utf8');
    s.on('data', (d: string) => this.feed(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      this.closed = true;
      this.push(null);
    });
  }

  private push(r: Reply | null): void {
    const w = this.waiters.shift();
    if (w) w(r);
    else this.replies.push(r);
  }

  private feed(d: string): void {
    this.buffer += d;
    for (;;) {
      const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(this.buffer);
      if (!m) return;
      const end = m.index + m[0].length;
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end);
      this.push({ code: Number(m[1]), text });
    }
  }

  static async connect(port: number, options: { implicit?: boolean; localAddress?: string } = {}): Promise<RawFtp> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = options.implicit ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s)) : net.connect({ host: '127.0.0.1', port, localAddress: options.localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    return new RawFtp(socket);
  }

  /** The next reply, or null when the connection closed. */
  next(timeoutMs = 10_000): Promise<Reply | null> {
    if (this.replies.length > 0) return Promise.resolve(this.replies.shift()!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply in time')), timeoutMs);
      this.waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  send(line: string | Buffer): void {
    this.socket.write(typeof line === 'string' ? `${line}\r\n` : line);
  }

  async cmd(line: string): Promise<Reply | null> {
    this.send(line);
    return this.next();
  }

  /** AUTH TLS and the handshake (the 220 banner must have been read). */
  async startTls(options: tls.ConnectionOptions = {}): Promise<void> {
    const r = await this.cmd('AUTH TLS');
    if (r?.code !== 234) throw new Error(`AUTH TLS refused: ${r?.text}`);
    this.socket.removeAllListeners('data');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: this.socket, rejectUnauthorized: false, ...options }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /** Banner, AUTH TLS, PBSZ, PROT P, login. */
  static async login(port: number, options: { localAddress?: string; implicit?: boolean } = {}): Promise<RawFtp> {
    const c = await RawFtp.connect(port, options);
    const banner = await c.next();
    if (banner?.code !== 220) throw new Error(`banner: ${banner?.text}`);
    if (!options.implicit) await c.startTls();
    for (const [line, code] of [
      ['PBSZ 0', 200],
      ['PROT P', 200],
      [`USER ${USER}`, 331],
      [`PASS ${PASSWORD}`, 230],
    ] as const) {
      const r = await c.cmd(line);
      if (r?.code !== code) throw new Error(`${line.split(' ')[0]}: ${r?.text}`);
    }
    return c;
  }

  /** EPSV and the data connection's TCP socket (bound to localAddress when given). */
  async passive(localAddress?: string): Promise<net.Socket> {
    const r = await this.cmd('EPSV');
    const m = /\|\|\|(\d+)\|/.exec(r?.text ?? '');
    if (!m) throw new Error(`EPSV: ${r?.text}`);
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: Number(m[1]), localAddress }, () => resolve(s));
      s.once('error', reject);
    });
  }

  /** Upgrades a data socket to TLS resuming the control connection's session. */
  dataTls(raw: net.Socket, resume = true): Promise<tls.TLSSocket> {
    const session = resume ? (this.socket as tls.TLSSocket).getSession() : undefined;
    return new Promise((resolve, reject) => {
      const s = tls.connect({ socket: raw, rejectUnauthorized: false, ...(session && { session }) }, () => resolve(s));
      s.once('error', reject);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function readAll(s: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
