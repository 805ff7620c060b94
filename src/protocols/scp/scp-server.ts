// Legacy SCP (the "rcp" protocol of OpenSSH's scp before 9.0, and of `scp -O`) served in
// process on an exec channel: no shell, no program. This adapter only translates SCP records
// into Session calls; the Session checks permissions, confines paths and audits each file.
//
// The protocol, as OpenSSH's scp.c speaks it. Every record is answered with one status byte:
// 0 (ok), 1 + "message\n" (error, go on), 2 + "message\n" (fatal).
//   sink (`scp -t target`, upload): we send 0, then read records:
//     T<mtime> 0 <atime> 0      times for the next C or D (with -p)
//     C<mode> <size> <name>     a file: we answer, read <size> bytes and the source's status
//                               byte, answer again
//     D<mode> 0 <name> ... E    a directory and its end (with -r)
//     1/2 + message             the source's own error
//   source (`scp -f path`, download): we wait for 0, then send those records for the path,
//   reading one status after each.
// Hostile input (names with "/", "..", control characters, lying sizes, unbalanced D/E,
// overlong lines, deep nesting) ends the transfer with a fatal message and an audit record;
// a partial upload is never put in place.
import { once } from 'node:events';
import type { Duplex, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { minimatch } from 'minimatch';
import { LIMITS } from '../../config/limits.ts';
import { ERROR_CATALOGUE, fromSystemError, PortcullisError, type ErrorCode } from '../../errors/index.ts';
import type { Session, Upload } from '../../session/session.ts';
import type { VfsStat } from '../../vfs/vfs.ts';
import { ChannelReader } from './channel-reader.ts';
import type { ScpCommand } from './scp-command.ts';

export interface ScpOptions {
  session: Session;
  /** The exec channel: stdin is what the client sends, stdout what it reads. */
  channel: Duplex;
  command: ScpCommand;
  /** Hostile or malformed input: audited by the adapter; the transfer has already ended. */
  onRefused(code: ErrorCode, detail: string): void;
  onActivity(): void;
  /** An error that is neither ours nor the system's (a bug): logged once by the adapter. */
  onUnexpected(err: unknown): void;
}

/** A protocol violation: ends the transfer (fatal status to the client, audit record). */
class ScpProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

interface Times {
  mtime: Date;
  atime: Date;
}

const OK = Buffer.from([0]);
const decoder = new TextDecoder('utf-8', { fatal: true });
const HEADER = /^([0-7]{4}) (\d{1,16}) (.+)$/s;
const TIMES = /^(\d{1,12}) (\d{1,6}) (\d{1,12}) (\d{1,6})$/;

/**
 * A name from a C or D record. SECURITY: one path component, never a path: no "/", no "\"
 * (a separator for our virtual paths), not "." or "..", no control characters (they would
 * forge lines in listings and logs), valid UTF-8, at most maxNameBytes.
 */
export function parseScpName(bytes: Buffer): string {
  let name: string;
  try {
    name = decoder.decode(bytes);
  } catch {
    throw new ScpProtocolError('ERR_VFS_INVALID_PATH', 'the name is not UTF-8');
  }
  if (name === '' || name === '.' || name === '..') throw new ScpProtocolError('ERR_VFS_INVALID_PATH', `the name "${name}" is not a file name`);
  if (/[/\\]/.test(name)) throw new ScpProtocolError('ERR_VFS_INVALID_PATH', 'the name contains "/" or "\\" (a name is one path component)');
  if (/\p{Cc}/u.test(name)) throw new ScpProtocolError('ERR_VFS_INVALID_PATH', 'the name contains a control character');
  if (bytes.length > LIMITS.maxNameBytes) throw new ScpProtocolError('ERR_VFS_NAME_TOO_LONG', `the name is over ${LIMITS.maxNameBytes} bytes`);
  return name;
}

/** "C0644 123 name" / "D0755 0 name" after the type letter. */
export function parseScpHeader(rest: Buffer): { mode: number; size: number; name: string } {
  // The name may hold any byte but LF; mode and size are ASCII: split at the second space.
  const first = rest.indexOf(0x20);
  const second = first === -1 ? -1 : rest.indexOf(0x20, first + 1);
  const m = second === -1 ? null : HEADER.exec(`${rest.subarray(0, second).toString('latin1')} x`);
  if (!m) throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'a C/D record is not "<4 octal digits> <size> <name>"');
  const size = Number(m[2]);
  if (!Number.isSafeInteger(size)) throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'the size is too large');
  return { mode: parseInt(m[1]!, 8) & 0o777, size, name: parseScpName(rest.subarray(second + 1)) };
}

export function parseScpTimes(rest: Buffer): Times {
  const m = TIMES.exec(rest.toString('latin1'));
  if (!m || Number(m[2]) > 999_999 || Number(m[4]) > 999_999) throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'a T record is not "<mtime> <usec> <atime> <usec>"');
  return { mtime: new Date(Number(m[1]) * 1000), atime: new Date(Number(m[3]) * 1000) };
}

export class ScpServer {
  private readonly reader: ChannelReader;
  private readonly session: Session;
  private readonly channel: Duplex;
  private readonly command: ScpCommand;
  /** Non-fatal errors reported to the client (exit status 1 when any). */
  private errors = 0;
  private closed = false;

  constructor(private readonly options: ScpOptions) {
    this.session = options.session;
    this.channel = options.channel;
    this.command = options.command;
    this.reader = new ChannelReader(options.channel, LIMITS.scpMaxBufferedBytes);
    options.channel.once('close', () => (this.closed = true));
  }

  /** Runs the transfer to its end; resolves with the exit status for the client. */
  async run(): Promise<number> {
    try {
      if (this.command.direction === 'sink') await this.sink(this.command.paths[0]!);
      else await this.source();
      return this.errors > 0 ? 1 : 0;
    } catch (err) {
      if (err instanceof ScpProtocolError) {
        await this.send(status(2, `${ERROR_CATALOGUE[err.code]}: ${err.detail}`));
        // A stream that simply ended is audited by the upload it aborted; the rest is refused input.
        if (err.code !== 'ERR_VFS_TRANSFER_ABORTED') this.options.onRefused(err.code, err.detail);
        this.reader.discard();
        return 1;
      }
      // A storage error outside any one file (the target itself): fatal for this transfer.
      this.noteUnexpected(err);
      const e = fromSystemError(err);
      await this.send(status(2, ERROR_CATALOGUE[e.code]));
      this.reader.discard();
      return 1;
    }
  }

  private noteUnexpected(err: unknown): void {
    if (!(err instanceof PortcullisError) && typeof (err as NodeJS.ErrnoException | undefined)?.code !== 'string') this.options.onUnexpected(err);
  }

  // ---- output ------------------------------------------------------------------------------

  private async send(data: Buffer | string): Promise<void> {
    if (this.closed) return;
    this.options.onActivity();
    if (!this.channel.write(data)) await Promise.race([once(this.channel, 'drain'), once(this.channel, 'close')]);
  }

  /** A non-fatal error about one file (the transfer goes on). */
  private async fail(vpath: string, err: unknown): Promise<void> {
    this.noteUnexpected(err);
    const e = fromSystemError(err);
    this.errors += 1;
    await this.send(status(1, `${vpath}: ${ERROR_CATALOGUE[e.code]}`));
  }

  // ---- sink (upload) -----------------------------------------------------------------------

  private async sink(target: string): Promise<void> {
    const root = this.session.resolvePath(target);
    let rootIsDir: boolean;
    try {
      rootIsDir = await this.isDirectory(root);
    } catch (err) {
      this.errors += 1;
      await this.send(status(2, `${root}: ${ERROR_CATALOGUE[fromSystemError(err).code]}`));
      return;
    }
    if (this.command.targetMustBeDirectory && !rootIsDir) {
      this.errors += 1;
      await this.send(status(2, `${root}: ${ERROR_CATALOGUE.ERR_VFS_NOT_A_DIRECTORY}`));
      return;
    }
    await this.send(OK);
    /** Directories entered (D) and not yet left (E), with the times to set when left. */
    const stack: { path: string; times: Times | undefined; mode: number }[] = [];
    let times: Times | undefined;
    for (;;) {
      const type = await this.reader.byte();
      if (type === null) return; // the client is done
      this.options.onActivity();
      if (type === 1 || type === 2) {
        // The source could not read one of its files; it says so and goes on (1) or stops (2).
        await this.line();
        this.errors += 1;
        if (type === 2) return;
        continue;
      }
      const rest = await this.line();
      const letter = String.fromCharCode(type);
      if (letter === 'T') {
        times = parseScpTimes(rest);
        await this.send(OK);
        continue;
      }
      if (letter === 'E') {
        if (rest.length !== 0) throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'an E record carries data');
        const dir = stack.pop();
        if (!dir) throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'an E record without a D');
        if (dir.times && this.command.preserve) {
          const attrs = { mode: dir.mode, atime: dir.times.atime, mtime: dir.times.mtime };
          try {
            await this.session.setAttributes(dir.path, attrs);
          } catch (err) {
            await this.fail(dir.path, err);
            continue;
          }
        }
        await this.send(OK);
        continue;
      }
      if (letter !== 'C' && letter !== 'D') throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', `unexpected record type 0x${type.toString(16).padStart(2, '0')}`);
      const header = parseScpHeader(rest);
      const parent = stack.at(-1)?.path ?? root;
      // The first name goes into the target when it is a directory, else it becomes the target.
      const dest = stack.length > 0 || rootIsDir ? joinVirtual(parent, header.name) : root;
      const recordTimes = times;
      times = undefined;
      if (letter === 'D') {
        if (!this.command.recursive) throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'a directory (D record) without -r');
        if (stack.length >= LIMITS.scpMaxDepth) throw new ScpProtocolError('ERR_VFS_NAME_TOO_LONG', `directories nested deeper than ${LIMITS.scpMaxDepth}`);
        try {
          if (!(await this.isDirectory(dest))) await this.session.mkdir(dest);
        } catch (err) {
          // The source skips the whole directory when told so.
          await this.fail(dest, err);
          continue;
        }
        stack.push({ path: dest, times: recordTimes, mode: header.mode });
        await this.send(OK);
        continue;
      }
      await this.receiveFile(dest, header.mode, header.size, recordTimes);
    }
  }

  private async receiveFile(dest: string, mode: number, size: number, times: Times | undefined): Promise<void> {
    let upload: Upload;
    try {
      upload = await this.session.openWrite(dest, 'truncate', mode);
    } catch (err) {
      await this.fail(dest, err); // the source sends no data after an error
      return;
    }
    // Exactly one of commit or abort settles the upload (and its audit record).
    let settled = false;
    const abort = async (code: ErrorCode) => {
      if (settled) return;
      settled = true;
      await upload.abort(code);
    };
    try {
      await this.send(OK);
      // Writes are pipelined (the next chunk is read while the disk writes) and bounded by the
      // stream's buffer: past it we wait for 'drain', the channel buffer fills, and ssh2 stops
      // opening the window.
      const out = upload.createWriteStream(0) as Writable;
      let writeError: unknown;
      out.on('error', (err) => (writeError ??= err));
      try {
        let position = 0;
        while (position < size) {
          const chunk = await this.reader.take(size - position);
          // SECURITY: a size that lies (the stream ends early) never puts a partial file in place.
          if (!chunk) throw new ScpProtocolError('ERR_VFS_TRANSFER_ABORTED', `the stream ended after ${position} of ${size} bytes`);
          this.options.onActivity();
          position += chunk.length;
          // After a write error, keep reading: the source sends every byte it announced.
          if (writeError === undefined && !out.write(chunk)) await once(out, 'drain').catch((err: unknown) => (writeError ??= err));
        }
        if (writeError === undefined) await finished(out.end()).catch((err: unknown) => (writeError ??= err));
      } finally {
        if (!out.writableFinished) out.destroy();
      }
      const end = await this.reader.byte();
      if (end === null) throw new ScpProtocolError('ERR_VFS_TRANSFER_ABORTED', 'the stream ended before the status byte after the data');
      if (end === 1 || end === 2) {
        await this.line(); // the source failed to read its file: nothing is kept
        await abort('ERR_VFS_TRANSFER_ABORTED');
        this.errors += 1;
        if (end === 2) throw new ScpProtocolError('ERR_VFS_TRANSFER_ABORTED', 'the source stopped during a file');
        return;
      }
      // SECURITY: more data than announced (or garbage) is not a status byte.
      if (end !== 0) throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'the data is longer than its announced size');
      if (writeError !== undefined) {
        await abort(fromSystemError(writeError).code);
        await this.fail(dest, writeError);
        return;
      }
      settled = true;
      await upload.commit();
      if (times && this.command.preserve) await this.session.setAttributes(dest, { mode, atime: times.atime, mtime: times.mtime });
      await this.send(OK);
    } catch (err) {
      await abort(err instanceof ScpProtocolError ? 'ERR_VFS_TRANSFER_ABORTED' : fromSystemError(err).code);
      if (err instanceof ScpProtocolError) throw err;
      await this.fail(dest, err);
    }
  }

  /** The rest of a record line (after its type byte). */
  private async line(): Promise<Buffer> {
    const line = await this.reader.line(LIMITS.scpMaxLineBytes);
    if (line.ok) return line.bytes;
    if (line.reason === 'too-long') throw new ScpProtocolError('ERR_PROTOCOL_LINE_TOO_LONG', `a record is over ${LIMITS.scpMaxLineBytes} bytes`);
    throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', 'the stream ended inside a record');
  }

  private async isDirectory(vpath: string): Promise<boolean> {
    if (vpath === '/') return true; // the home
    try {
      return (await this.session.stat(vpath)).type === 'directory';
    } catch (err) {
      if (fromSystemError(err).code === 'ERR_VFS_NOT_FOUND') return false;
      throw err;
    }
  }

  // ---- source (download) -------------------------------------------------------------------

  private async source(): Promise<void> {
    // The sink starts with a 0 byte.
    if (!(await this.response())) return;
    for (const [i, p] of this.command.paths.entries()) {
      if (this.closed) return;
      const glob = this.command.globs[i] ?? null;
      let targets: string[];
      try {
        targets = glob === null ? [this.session.resolvePath(p)] : await this.expand(p, glob);
      } catch (err) {
        await this.fail(p, err);
        continue;
      }
      for (const vpath of targets) {
        const name = vpath === '/' ? '.' : vpath.slice(vpath.lastIndexOf('/') + 1);
        if (!(await this.sendPath(vpath, name, 0))) return;
      }
    }
  }

  /** `dir/*.txt`: what the user's shell did for OpenSSH's sshd, against the listing (the last
   * name only; a leading "." is matched only by a pattern that starts with one, as in sh). */
  private async expand(input: string, glob: string): Promise<string[]> {
    const slash = input.lastIndexOf('/');
    const dir = this.session.resolvePath(slash === -1 ? '.' : input.slice(0, slash) || '/');
    const names: string[] = [];
    for await (const entry of this.session.list(dir)) {
      if (minimatch(entry.name, glob, { dot: false, nobrace: true, noext: true, noglobstar: true, nonegate: true, nocomment: true })) names.push(entry.name);
    }
    if (names.length === 0) throw new PortcullisError('ERR_VFS_NOT_FOUND', 'no name matches');
    return names.sort().map((n) => joinVirtual(dir, n));
  }

  /** Sends one file or directory; false when the transfer must stop. */
  private async sendPath(vpath: string, name: string, depth: number): Promise<boolean> {
    let st: VfsStat;
    try {
      st = await this.session.stat(vpath);
    } catch (err) {
      await this.fail(vpath, err);
      return true;
    }
    if (/[\n\r]/.test(name)) {
      // SECURITY: a name with a line break would forge records in the client's stream.
      await this.fail(vpath, new PortcullisError('ERR_VFS_INVALID_PATH'));
      return true;
    }
    if (st.type === 'directory') return this.sendDirectory(vpath, name, st, depth);
    if (st.type !== 'file') {
      await this.fail(vpath, new PortcullisError('ERR_VFS_UNSUPPORTED', 'not a regular file'));
      return true;
    }
    return this.sendFile(vpath, name, st);
  }

  private async sendTimes(st: VfsStat): Promise<boolean> {
    if (!this.command.preserve) return true;
    await this.send(`T${Math.floor(st.mtime.getTime() / 1000)} 0 ${Math.floor(st.atime.getTime() / 1000)} 0\n`);
    return this.response();
  }

  private async sendDirectory(vpath: string, name: string, st: VfsStat, depth: number): Promise<boolean> {
    if (!this.command.recursive) {
      await this.fail(vpath, new PortcullisError('ERR_VFS_IS_A_DIRECTORY', 'use -r'));
      return true;
    }
    if (depth >= LIMITS.scpMaxDepth) {
      await this.fail(vpath, new PortcullisError('ERR_VFS_NAME_TOO_LONG', `deeper than ${LIMITS.scpMaxDepth}`));
      return true;
    }
    if (!(await this.sendTimes(st))) return !this.closed;
    await this.send(`D${octal(st.mode)} 0 ${name}\n`);
    if (!(await this.response())) return !this.closed;
    try {
      for await (const entry of this.session.list(vpath)) {
        if (entry.name === '.' || entry.name === '..') continue;
        if (!(await this.sendPath(joinVirtual(vpath, entry.name), entry.name, depth + 1))) return false;
      }
    } catch (err) {
      if (err instanceof ScpProtocolError) throw err;
      await this.fail(vpath, err);
    }
    await this.send('E\n');
    return (await this.response()) || !this.closed;
  }

  private async sendFile(vpath: string, name: string, st: VfsStat): Promise<boolean> {
    let download;
    try {
      download = await this.session.openRead(vpath);
    } catch (err) {
      await this.fail(vpath, err);
      return true;
    }
    let ok = false;
    try {
      if (!(await this.sendTimes(st))) return !this.closed;
      const size = st.size;
      await this.send(`C${octal(st.mode)} ${size} ${name}\n`);
      if (!(await this.response())) return !this.closed;
      let position = 0;
      let shrank = false;
      while (position < size) {
        const want = Math.min(LIMITS.scpChunkBytes, size - position);
        // A fresh buffer per chunk: the channel may hold it until the window opens.
        const buffer = Buffer.allocUnsafe(want);
        const n = shrank ? 0 : await download.read(buffer, 0, want, position);
        if (n === 0) {
          // The file shrank while being sent: the announced size is kept (zeros), and the
          // status says the copy is bad, as OpenSSH does.
          shrank = true;
          buffer.fill(0);
          await this.send(buffer);
          position += want;
          continue;
        }
        await this.send(n === want ? buffer : buffer.subarray(0, n));
        position += n;
        if (this.closed) return false;
      }
      if (shrank) {
        this.errors += 1;
        await this.send(status(1, `${vpath}: ${ERROR_CATALOGUE.ERR_VFS_TRANSFER_ABORTED}: the file changed size while being sent`));
        return true;
      }
      await this.send(OK);
      ok = await this.response();
      return ok || !this.closed;
    } catch (err) {
      if (err instanceof ScpProtocolError) throw err;
      await this.fail(vpath, err);
      return !this.closed;
    } finally {
      await download.finish(ok);
    }
  }

  /** Reads the client's status for what we just sent: true for 0. */
  private async response(): Promise<boolean> {
    const b = await this.reader.byte();
    if (b === 0) return true;
    if (b === null) {
      this.closed = true;
      return false;
    }
    if (b === 1 || b === 2) {
      await this.line(); // the client's message (e.g. its disk is full); it is its to print
      this.errors += 1;
      if (b === 2) this.closed = true;
      return false;
    }
    throw new ScpProtocolError('ERR_PROTOCOL_MALFORMED', `unexpected status byte 0x${b.toString(16).padStart(2, '0')}`);
  }
}

function status(level: 1 | 2, message: string): string {
  // SECURITY: one line: a message never carries a line break into the client's stream.
  return `${String.fromCharCode(level)}scp: ${message.replace(/[\r\n]/g, ' ')}\n`;
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

function joinVirtual(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
