// A Session is an authenticated user with their permissions and Vfs. Every file operation is
// one method here: parse the path, check the permission, act on the Vfs, emit exactly one audit
// event (`file.<op>.completed|failed`), and throw a PortcullisError on failure. Adapters only
// translate their protocol into these calls and map error codes back.
import { createHash, type Hash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Audit } from '../audit/audit.ts';
import type { FileOp } from '../audit/events.ts';
import { fromSystemError, PortcullisError, reportInternal, type ErrorLogger } from '../errors/index.ts';
import type { ConnectionContext } from '../net/connection.ts';
import type { User } from '../store/user-repository.ts';
import type { Vfs, VfsAttributes, VfsCapabilities, VfsDirEntry, VfsFile, VfsStat, VfsStatvfs, VfsUpload, WriteMode } from '../vfs/vfs.ts';
import { parseVirtualPath } from '../vfs/virtual-path.ts';
import type { Permission } from './permissions.ts';

interface OpDetail {
  path: string;
  target?: string;
  bytes?: number;
  durationMs?: number;
  sha256?: string;
}

export class Session {
  readonly startedAt = Date.now();
  private closed = false;
  private readonly transfers = new Set<Transfer>();

  constructor(
    readonly id: string,
    readonly user: User,
    readonly ctx: ConnectionContext,
    private readonly vfs: Vfs,
    private readonly audit: Audit,
    /** Where an ERR_INTERNAL (a bug) is logged, once, with the connection id and its stack. */
    private readonly logger?: ErrorLogger,
  ) {}

  /** The one mapping of whatever an operation threw onto the catalogue. */
  private failure(err: unknown): PortcullisError {
    return reportInternal(fromSystemError(err), this.logger, { connectionId: this.ctx.id, sessionId: this.id, user: this.user.name });
  }

  /** Resolves client input against a working directory (FTP's CWD; SFTP passes "/"). */
  resolvePath(input: string, cwd = '/'): string {
    return parseVirtualPath(input, cwd);
  }

  /** What the storage behind this session can do (what the protocols may advertise). */
  get capabilities(): Readonly<VfsCapabilities> {
    return this.vfs.capabilities;
  }

  can(permission: Permission): boolean {
    return this.user.permissions.includes(permission);
  }

  private emit(op: FileOp, outcome: 'completed' | 'failed', detail: OpDetail, code?: PortcullisError['code']): void {
    this.audit.emit({
      type: 'file.operation',
      op,
      outcome,
      ...detail,
      ...(code && { code }),
      sessionId: this.id,
      connectionId: this.ctx.id,
      protocol: this.ctx.protocol,
      remoteAddress: this.ctx.remoteAddress,
      user: this.user.name,
    });
  }

  /** Runs one operation: permission check, action, one audit event. */
  private async run<T>(op: FileOp, permissions: readonly Permission[], detail: OpDetail, act: () => Promise<T>): Promise<T> {
    try {
      if (this.closed) throw new PortcullisError('ERR_SESSION_CLOSED');
      for (const p of permissions) if (!this.can(p)) throw new PortcullisError('ERR_PERMISSION_DENIED', `needs the ${p} permission`);
      const result = await act();
      this.emit(op, 'completed', detail);
      return result;
    } catch (err) {
      const e = this.failure(err);
      this.emit(op, 'failed', detail, e.code);
      throw e;
    }
  }

  private async exists(vpath: string): Promise<boolean> {
    return this.vfs.lstat(vpath).then(
      () => true,
      () => false,
    );
  }

  stat(path: string): Promise<VfsStat> {
    const p = parseVirtualPath(path);
    return this.run('stat', ['list'], { path: p }, () => this.vfs.stat(p));
  }

  lstat(path: string): Promise<VfsStat> {
    const p = parseVirtualPath(path);
    return this.run('stat', ['list'], { path: p }, () => this.vfs.lstat(p));
  }

  /** Lists a directory. The audit event is emitted when the listing ends (or fails). */
  async *list(path: string): AsyncIterable<VfsDirEntry> {
    const p = parseVirtualPath(path);
    let count = 0;
    let failure: PortcullisError | undefined;
    try {
      if (this.closed) throw new PortcullisError('ERR_SESSION_CLOSED');
      if (!this.can('list')) throw new PortcullisError('ERR_PERMISSION_DENIED', 'needs the list permission');
      for await (const entry of this.vfs.readdir(p)) {
        count++;
        yield entry;
      }
    } catch (err) {
      failure = this.failure(err);
      throw failure;
    } finally {
      this.emit('list', failure ? 'failed' : 'completed', { path: p, bytes: count }, failure?.code);
    }
  }

  mkdir(path: string): Promise<void> {
    const p = parseVirtualPath(path);
    return this.run('mkdir', ['mkdir'], { path: p }, () => this.vfs.mkdir(p));
  }

  rmdir(path: string): Promise<void> {
    const p = parseVirtualPath(path);
    return this.run('rmdir', ['rmdir'], { path: p }, () => this.vfs.rmdir(p));
  }

  remove(path: string): Promise<void> {
    const p = parseVirtualPath(path);
    return this.run('remove', ['delete'], { path: p }, () => this.vfs.remove(p));
  }

  async rename(from: string, to: string, options: { overwrite: boolean }): Promise<void> {
    const src = parseVirtualPath(from);
    const dst = parseVirtualPath(to);
    const needs: Permission[] = ['rename'];
    if (options.overwrite && (await this.exists(dst))) needs.push('overwrite');
    return this.run('rename', needs, { path: src, target: dst }, () => this.vfs.rename(src, dst, options.overwrite));
  }

  setAttributes(path: string, attrs: VfsAttributes): Promise<void> {
    const p = parseVirtualPath(path);
    // Changing the size rewrites content: it needs the overwrite permission too.
    const needs: Permission[] = attrs.size !== undefined ? ['setstat', 'overwrite'] : ['setstat'];
    return this.run('setstat', needs, { path: p }, () => this.vfs.setAttributes(p, attrs));
  }

  realpath(path: string): Promise<string> {
    const p = parseVirtualPath(path);
    return this.run('realpath', [], { path: p }, () => this.vfs.realpath(p));
  }

  symlink(target: string, link: string): Promise<void> {
    const l = parseVirtualPath(link);
    return this.run('symlink', ['symlink'], { path: l, target }, () => this.vfs.symlink(target, l));
  }

  readlink(path: string): Promise<string> {
    const p = parseVirtualPath(path);
    return this.run('readlink', ['list'], { path: p }, () => this.vfs.readlink(p));
  }

  link(existing: string, newPath: string): Promise<void> {
    const src = parseVirtualPath(existing);
    const dst = parseVirtualPath(newPath);
    return this.run('link', ['symlink', 'upload'], { path: dst, target: src }, () => this.vfs.link(src, dst));
  }

  statvfs(path: string): Promise<VfsStatvfs> {
    const p = parseVirtualPath(path);
    return this.run('statvfs', ['list'], { path: p }, () => this.vfs.statvfs(p));
  }

  /** Opens a file to download. The audit event is emitted by `Download.finish`. */
  async openRead(path: string): Promise<Download> {
    const p = parseVirtualPath(path);
    const started = Date.now();
    try {
      if (this.closed) throw new PortcullisError('ERR_SESSION_CLOSED');
      if (!this.can('download')) throw new PortcullisError('ERR_PERMISSION_DENIED', 'needs the download permission');
      const file = await this.vfs.openRead(p);
      const download = new Download(p, file, started, this.transfers, (ok, detail, code) => this.emit('download', ok ? 'completed' : 'failed', detail, code));
      this.transfers.add(download);
      return download;
    } catch (err) {
      const e = this.failure(err);
      this.emit('download', 'failed', { path: p, bytes: 0, durationMs: Date.now() - started }, e.code);
      throw e;
    }
  }

  /** Opens a file to upload. The audit event is emitted by `Upload.commit` or `Upload.abort`.
   * `createMode`: permission bits for a file that starts empty (SFTP OPEN attributes). */
  async openWrite(path: string, mode: WriteMode, createMode?: number): Promise<Upload> {
    const p = parseVirtualPath(path);
    const started = Date.now();
    try {
      if (this.closed) throw new PortcullisError('ERR_SESSION_CLOSED');
      if (!this.can('upload')) throw new PortcullisError('ERR_PERMISSION_DENIED', 'needs the upload permission');
      const file = await this.vfs.openWrite(p, mode, {
        ...(createMode !== undefined && { createMode }),
        // Replacing an existing name needs overwrite too; the Vfs asks before it creates anything.
        authorize: (exists) => {
          if (mode !== 'exclusive' && exists && !this.can('overwrite')) throw new PortcullisError('ERR_PERMISSION_DENIED', 'needs the overwrite permission');
        },
      });
      const upload = new Upload(p, file, started, mode === 'truncate' || mode === 'exclusive', this.transfers, (ok, detail, code) => this.emit('upload', ok ? 'completed' : 'failed', detail, code));
      this.transfers.add(upload);
      return upload;
    } catch (err) {
      const e = this.failure(err);
      this.emit('upload', 'failed', { path: p, bytes: 0, durationMs: Date.now() - started }, e.code);
      throw e;
    }
  }

  /** Transfers in progress (the live sessions view). */
  currentTransfers(): TransferInfo[] {
    return [...this.transfers].map((t) => t.describe());
  }

  /** Ends the session: aborts unfinished uploads (nothing half-written is kept), closes files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.transfers].map((t) => t.abortTransfer('ERR_SESSION_CLOSED')));
    try {
      await this.vfs.close();
    } catch (err) {
      this.failure(err); // logged when it is a bug; the session ends all the same
    }
    this.audit.emit({ type: 'session.closed', sessionId: this.id, durationMs: Date.now() - this.startedAt, connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, user: this.user.name });
  }
}

type Report = (ok: boolean, detail: OpDetail, code?: PortcullisError['code']) => void;

export interface TransferInfo {
  direction: 'upload' | 'download';
  path: string;
  bytes: number;
  startedAt: number;
}

abstract class Transfer {
  protected done = false;
  bytes = 0;

  constructor(
    readonly path: string,
    protected readonly started: number,
    private readonly registry: Set<Transfer>,
    private readonly report: Report,
  ) {}

  protected settle(ok: boolean, code?: PortcullisError['code'], sha256?: string): void {
    if (this.done) return;
    this.done = true;
    this.registry.delete(this);
    this.report(ok, { path: this.path, bytes: this.bytes, durationMs: Date.now() - this.started, ...(sha256 && { sha256 }) }, code);
  }

  abstract abortTransfer(code: PortcullisError['code']): Promise<void>;

  describe(): TransferInfo {
    return { direction: this instanceof Upload ? 'upload' : 'download', path: this.path, bytes: this.bytes, startedAt: this.started };
  }
}

export class Download extends Transfer {
  constructor(
    path: string,
    readonly file: VfsFile,
    started: number,
    registry: Set<Transfer>,
    report: Report,
  ) {
    super(path, started, registry, report);
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    const n = await this.file.read(buffer, offset, length, position);
    this.bytes += n;
    return n;
  }

  /** A stream from `start`; bytes are counted as they pass. */
  createReadStream(start: number): NodeJS.ReadableStream {
    const stream = this.file.createReadStream(start) as unknown as Readable;
    // Count at push (a 'data' listener would switch the stream to flowing mode and lose
    // bytes before the adapter pipes it).
    const push = stream.push.bind(stream);
    stream.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (Buffer.isBuffer(chunk)) this.bytes += chunk.length;
      return push(chunk, encoding);
    };
    return stream;
  }

  /** Ends the download: ok when the client got everything it asked for. */
  async finish(ok: boolean, code: PortcullisError['code'] = 'ERR_VFS_TRANSFER_ABORTED'): Promise<void> {
    await this.file.close();
    this.settle(ok, ok ? undefined : code);
  }

  async abortTransfer(code: PortcullisError['code']): Promise<void> {
    await this.finish(false, code);
  }
}

export class Upload extends Transfer {
  /** SHA-256 of the content while writes arrive in order from offset 0 (else undefined). */
  private hash: Hash | undefined;
  private nextOffset = 0;

  constructor(
    path: string,
    readonly file: VfsUpload,
    started: number,
    fromEmpty: boolean,
    registry: Set<Transfer>,
    report: Report,
  ) {
    super(path, started, registry, report);
    this.hash = fromEmpty ? createHash('sha256') : undefined;
  }

  private track(chunk: Buffer, position: number): void {
    this.bytes += chunk.length;
    if (this.hash && position === this.nextOffset) {
      this.hash.update(chunk);
      this.nextOffset += chunk.length;
    } else this.hash = undefined;
  }

  async write(buffer: Buffer, position: number): Promise<number> {
    const n = await this.file.write(buffer, position);
    this.track(buffer.subarray(0, n), position);
    return n;
  }

  /** A stream writing from `start`; bytes are counted and hashed as they reach the file. */
  createWriteStream(start: number): NodeJS.WritableStream {
    const stream = this.file.createWriteStream(start) as unknown as Writable;
    let pos = start;
    const seen = (chunk: Buffer) => {
      this.track(chunk, pos);
      pos += chunk.length;
    };
    // Hook the internal write paths (write, end(chunk) and corked batches all end here).
    const write = stream._write.bind(stream);
    stream._write = (chunk: Buffer, encoding, callback) => {
      seen(chunk);
      write(chunk, encoding, callback);
    };
    if (stream._writev) {
      const writev = stream._writev.bind(stream);
      stream._writev = (chunks, callback) => {
        for (const c of chunks) seen(c.chunk as Buffer);
        writev(chunks, callback);
      };
    }
    return stream;
  }

  /** Puts the upload in place under its final name. */
  async commit(): Promise<void> {
    try {
      await this.file.commit();
      this.settle(true, undefined, this.hash?.digest('hex'));
    } catch (err) {
      const e = fromSystemError(err);
      this.settle(false, e.code);
      throw e;
    }
  }

  /** Discards the upload: the final name keeps what it had before. */
  async abort(code: PortcullisError['code'] = 'ERR_VFS_TRANSFER_ABORTED'): Promise<void> {
    await this.file.abort();
    this.settle(false, code);
  }

  async abortTransfer(code: PortcullisError['code']): Promise<void> {
    await this.abort(code);
  }
}
