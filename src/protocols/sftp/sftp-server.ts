// Our SFTP v3 server on one `sftp` subsystem channel: framing, a request table, handles, the
// OpenSSH extensions and back-pressure. Each handler parses every field with checked reads,
// calls one Session method (which checks permission and audits), and replies exactly once.
//
//   channel 'data' ─▶ PacketFramer ─▶ queue ─▶ pump ─▶ handler ─▶ Session ─▶ reply
//        ▲                               │                                      │
//        └── pause while queue is full ──┘◀── pause while channel.write()=false ┘
//
// READ and WRITE run in parallel (up to MAX_PARALLEL_IO, any order, any offset); every other
// request is a barrier: it waits for the I/O in flight and runs alone, so CLOSE, RENAME and
// SETSTAT see the effects of the writes sent before them. Replies leave in request order (as
// from OpenSSH's sequential server), which some clients rely on.
import { LIMITS } from '../../config/limits.ts';
import type { Duplex } from 'node:stream';
import { PortcullisError } from '../../errors/index.ts';
import type { Download, Session, Upload } from '../../session/session.ts';
import type { VfsDirEntry, VfsStatvfs, WriteMode } from '../../vfs/vfs.ts';
import { encodeAttrs, formatLongname, parseAttrs, type ParsedAttrs } from './attrs.ts';
import { EXTENSIONS, FXP, OPEN_FLAGS, SFTP_VERSION, ST_NOSUID, ST_RDONLY, STATUS, type StatusCode } from './constants.ts';
import { MalformedPacketError, PacketFramer, PacketWriter, SftpReader } from './packet.ts';
import { statusForError } from './status.ts';

export interface SftpLimits {
  maxPacketBytes: number;
  maxReadWriteBytes: number;
  maxOpenHandles: number;
}

export interface SftpServerOptions {
  session: Session;
  channel: Duplex;
  limits: SftpLimits;
  /** A packet could not be parsed: the adapter audits it and closes the connection. */
  onMalformed(detail: string): void;
  /** A request arrived (idle timer). */
  onActivity?(): void;
  /** SYMLINK argument order: 'openssh' (target, link: OpenSSH, paramiko, most clients) or
   * 'draft' (link, target: the ssh2 npm client when the server is not OpenSSH). */
  symlinkOrder?: 'openssh' | 'draft';
  /** The client ended the channel: report our exit status before our end (scp checks it). */
  onClientEnd?(): void;
}

// The caps live with every other hard limit in src/config/limits.ts.
export const MAX_PARALLEL_IO = LIMITS.sftpMaxParallelIo;
export const MAX_QUEUED_REQUESTS = LIMITS.sftpMaxQueuedRequests;
const READDIR_BATCH = LIMITS.sftpReaddirBatchEntries;
const READDIR_SOFT_BYTES = LIMITS.sftpReaddirSoftBytes;
const MAX_HANDLE_BYTES = LIMITS.sftpMaxHandleBytes;

type FileHandle = { kind: 'read'; path: string; download: Download; inflight: number } | { kind: 'write'; path: string; upload: Upload; inflight: number };
interface DirHandle {
  kind: 'dir';
  path: string;
  iterator: AsyncIterator<VfsDirEntry>;
  pending: VfsDirEntry | undefined;
  done: boolean;
  inflight: number;
}
type Handle = FileHandle | DirHandle;

interface Request {
  type: number;
  id: number;
  reader: SftpReader;
}

interface RequestDef {
  name: string;
  /** Changes the filesystem: refused up front for a session without any write permission. */
  writes: boolean;
  /** May run in parallel with other requests of its kind. */
  parallel: boolean;
  run(this: SftpServer, req: Request): Promise<Buffer>;
}

/** A handler's way to say "answer this status" (not an error of the core). */
class StatusReply extends Error {
  constructor(
    readonly code: StatusCode,
    message: string,
  ) {
    super(message);
  }
}

const WRITE_PERMISSIONS = ['upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir', 'symlink', 'setstat'] as const;

/** Does `target`, read relative to `linkDir` without clamping at "/", climb above the home? */
export function climbsAboveHome(target: string, linkDir: string): boolean {
  const unified = target.replace(/\\/g, '/');
  let depth = unified.startsWith('/') ? 0 : linkDir.split('/').filter((s) => s !== '' && s !== '.').length;
  for (const seg of unified.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      depth -= 1;
      if (depth < 0) return true;
    } else depth += 1;
  }
  return false;
}

export class SftpServer {
  private readonly framer: PacketFramer;
  private readonly queue: Request[] = [];
  private readonly handles = new Map<string, Handle>();
  private nextHandle = 1;
  private initialised = false;
  private closed = false;
  private inflight = 0;
  /** Request order, for replies: sequence of the next request started / the next reply sent. */
  private nextSeq = 0;
  private sendSeq = 0;
  private readonly ready = new Map<number, Buffer | null>();
  private barrierRunning = false;
  private outputBlocked = false;
  private inputPaused = false;
  private readonly idle: (() => void)[] = [];
  readonly session: Session;
  private readonly channel: Duplex;
  readonly limits: SftpLimits;
  readonly symlinkOrder: 'openssh' | 'draft';

  constructor(private readonly options: SftpServerOptions) {
    this.session = options.session;
    this.channel = options.channel;
    this.limits = options.limits;
    this.symlinkOrder = options.symlinkOrder ?? 'openssh';
    this.framer = new PacketFramer(options.limits.maxPacketBytes);
    this.channel.on('data', (chunk: Buffer) => this.onData(chunk));
    this.channel.on('drain', () => {
      this.outputBlocked = false;
      this.pump();
    });
    // Quirk 12: when the client closes the channel, end our side at once.
    this.channel.on('end', () => {
      this.options.onClientEnd?.();
      this.channel.end();
      void this.close();
    });
    this.channel.on('close', () => void this.close());
    this.channel.on('error', () => void this.close());
  }

  /** Open handles (tests, live views). */
  get openHandles(): number {
    return this.handles.size;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.framer.push(chunk);
    try {
      for (let payload = this.framer.next(); payload !== null; payload = this.framer.next()) this.enqueue(payload);
    } catch (err) {
      this.malformed(err);
      return;
    }
    this.pump();
  }

  private enqueue(payload: Buffer): void {
    const reader = new SftpReader(payload);
    const type = reader.u8('packet type');
    if (!this.initialised) {
      if (type !== FXP.INIT) throw new MalformedPacketError(`first packet is type ${type}, not INIT`);
      const version = reader.u32('version');
      this.initialised = true;
      this.sendVersion(version);
      return;
    }
    if (type === FXP.INIT) throw new MalformedPacketError('INIT sent twice');
    const id = reader.u32('request id');
    this.queue.push({ type, id, reader });
  }

  private sendVersion(_clientVersion: number): void {
    // We speak v3 whatever the client asks for (every client we know of asks for 3).
    const w = new PacketWriter(FXP.VERSION).u32(SFTP_VERSION);
    for (const [name, version] of EXTENSIONS) w.string(name).string(version);
    this.send(w.finish());
  }

  private malformed(err: unknown): void {
    if (this.closed) return;
    const detail = err instanceof Error ? err.message : String(err);
    this.options.onMalformed(detail);
    void this.close();
  }

  /** Starts what may start now; pauses input when requests pile up. */
  private pump(): void {
    while (!this.closed && !this.outputBlocked && !this.barrierRunning && this.queue.length > 0) {
      const req = this.queue[0]!;
      const def = REQUESTS[req.type];
      const parallel = def?.parallel ?? false;
      if (parallel) {
        if (this.inflight >= MAX_PARALLEL_IO) break;
      } else if (this.inflight > 0) break; // a barrier waits for the I/O in flight
      this.queue.shift();
      if (!parallel) this.barrierRunning = true;
      this.inflight += 1;
      void this.execute(req, def, this.nextSeq++).finally(() => {
        this.inflight -= 1;
        if (!parallel) this.barrierRunning = false;
        if (this.inflight === 0) for (const fn of this.idle.splice(0)) fn();
        this.pump();
      });
    }
    this.updateInput();
  }

  /** SECURITY: back-pressure. No more input while requests queue or replies cannot be sent;
   * ssh2 then stops adjusting the channel window and the client has to wait. */
  private updateInput(): void {
    const shouldPause = !this.closed && (this.queue.length >= MAX_QUEUED_REQUESTS || this.outputBlocked);
    if (shouldPause && !this.inputPaused) {
      this.inputPaused = true;
      this.channel.pause();
    } else if (!shouldPause && this.inputPaused && !this.closed) {
      this.inputPaused = false;
      this.channel.resume();
    }
  }

  private async execute(req: Request, def: RequestDef | undefined, seq: number): Promise<void> {
    this.options.onActivity?.();
    let reply: Buffer;
    try {
      if (!def) {
        reply = this.status(req.id, STATUS.OP_UNSUPPORTED, `Request type ${req.type} is not supported`);
      } else if (def.writes && !WRITE_PERMISSIONS.some((p) => this.session.can(p))) {
        reply = this.status(req.id, STATUS.PERMISSION_DENIED, 'This account is read-only');
      } else {
        reply = await def.run.call(this, req);
      }
    } catch (err) {
      if (err instanceof MalformedPacketError) {
        this.malformed(err);
        this.deliver(seq, null);
        return;
      }
      if (err instanceof StatusReply) reply = this.status(req.id, err.code, err.message);
      else {
        const s = statusForError(err);
        reply = this.status(req.id, s.code, s.message);
      }
    }
    this.deliver(seq, reply);
  }

  /** Replies leave in request order, whatever order the work finished in: paramiko 2.12
   * waits for WRITE statuses oldest first and hangs forever on one that overtook another. */
  private deliver(seq: number, reply: Buffer | null): void {
    this.ready.set(seq, reply);
    for (let next = this.ready.get(this.sendSeq); next !== undefined; next = this.ready.get(this.sendSeq)) {
      this.ready.delete(this.sendSeq);
      this.sendSeq += 1;
      if (next !== null) this.send(next);
    }
  }

  private send(packet: Buffer): void {
    if (!this.channel.writable) return;
    if (!this.channel.write(packet)) {
      this.outputBlocked = true;
      this.updateInput();
    }
  }

  // --- replies ---

  status(id: number, code: StatusCode, message = ''): Buffer {
    return new PacketWriter(FXP.STATUS, id).u32(code).string(message).string('en').finish();
  }

  ok(id: number): Buffer {
    return this.status(id, STATUS.OK, 'Success');
  }

  name(id: number, entries: { name: string; longname: string; attrs?: Parameters<typeof encodeAttrs>[1] }[]): Buffer {
    const w = new PacketWriter(FXP.NAME, id).u32(entries.length);
    for (const e of entries) {
      w.string(e.name).string(e.longname);
      if (e.attrs) encodeAttrs(w, e.attrs);
      else w.u32(0);
    }
    return w.finish();
  }

  // --- handles ---

  handleReply(reqId: number, h: Handle): Buffer {
    if (this.handles.size >= this.limits.maxOpenHandles) throw new StatusReply(STATUS.FAILURE, `Too many open handles (limit ${this.limits.maxOpenHandles})`);
    const key = Buffer.allocUnsafe(4);
    key.writeUInt32BE(this.nextHandle++ >>> 0, 0);
    this.handles.set(key.toString('hex'), h);
    return new PacketWriter(FXP.HANDLE, reqId).string(key).finish();
  }

  readHandle(raw: Buffer): { key: string; handle: Handle } {
    const key = raw.length <= MAX_HANDLE_BYTES ? raw.toString('hex') : '';
    const handle = this.handles.get(key);
    if (!handle) throw new StatusReply(STATUS.FAILURE, 'Invalid handle');
    return { key, handle };
  }

  fileHandle(raw: Buffer): { key: string; handle: FileHandle } {
    const h = this.readHandle(raw);
    if (h.handle.kind === 'dir') throw new StatusReply(STATUS.FAILURE, 'Not a file handle');
    return { key: h.key, handle: h.handle };
  }

  closeHandle(key: string): Handle | undefined {
    const h = this.handles.get(key);
    this.handles.delete(key);
    return h;
  }

  /** Ends the session: uploads not closed are aborted (never half-written under their name). */
  close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.closing ??= this.releaseAll();
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async releaseAll(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(
      all.map(async (h) => {
        try {
          if (h.kind === 'write') await h.upload.abort('ERR_SESSION_CLOSED');
          else if (h.kind === 'read') await h.download.finish(false, 'ERR_SESSION_CLOSED');
          else await h.iterator.return?.();
        } catch {
          // already reported by the session's audit event
        }
      }),
    );
    await this.session.close();
  }

  // --- request helpers used by the table ---

  statvfsReply(id: number, s: VfsStatvfs): Buffer {
    const readOnly = !WRITE_PERMISSIONS.some((p) => this.session.can(p));
    return new PacketWriter(FXP.EXTENDED_REPLY, id)
      .u64(s.blockSize)
      .u64(s.blockSize) // f_frsize
      .u64(s.blocks)
      .u64(s.blocksFree)
      .u64(s.blocksAvailable)
      .u64(s.files)
      .u64(s.filesFree)
      .u64(s.filesFree) // f_favail
      .u64(0) // f_fsid: not revealed
      .u64(ST_NOSUID | (readOnly ? ST_RDONLY : 0))
      .u64(s.nameMax)
      .finish();
  }
}

// --- the request table ---

function openMode(pflags: number): WriteMode {
  if (pflags & OPEN_FLAGS.EXCL && pflags & OPEN_FLAGS.CREAT) return 'exclusive';
  if (pflags & OPEN_FLAGS.TRUNC) return 'truncate';
  if (pflags & OPEN_FLAGS.APPEND) return 'append';
  return 'keep';
}

async function applyHandleAttrs(server: SftpServer, h: FileHandle, attrs: ParsedAttrs): Promise<void> {
  const { ownerRequested: _owner, ...rest } = attrs; // ownership never changes (documented)
  if (rest.size === undefined && rest.mode === undefined && rest.atime === undefined && rest.mtime === undefined) return;
  if (h.kind === 'write') {
    if (!server.session.can('setstat')) throw new PortcullisError('ERR_PERMISSION_DENIED', 'needs the setstat permission');
    await h.upload.file.setAttributes(rest);
  } else {
    await server.session.setAttributes(h.path, rest);
  }
}

/** A handler that runs against one handle and keeps it from closing under its feet. */
async function withHandle<T>(h: Handle, fn: () => Promise<T>): Promise<T> {
  h.inflight += 1;
  try {
    return await fn();
  } finally {
    h.inflight -= 1;
  }
}

const DATA_HEADER = 4 + 1 + 4 + 4; // length, type, id, data length

export const REQUESTS: Partial<Record<number, RequestDef>> = {
  [FXP.OPEN]: {
    name: 'open',
    writes: false, // decided by the open flags below
    parallel: false,
    async run({ id, reader }) {
      const path = reader.text('filename');
      const pflags = reader.u32('pflags');
      const attrs = parseAttrs(reader);
      if (!(pflags & (OPEN_FLAGS.READ | OPEN_FLAGS.WRITE))) throw new StatusReply(STATUS.FAILURE, 'Open needs READ or WRITE');
      if (!(pflags & OPEN_FLAGS.WRITE)) {
        const download = await this.session.openRead(path);
        try {
          return this.handleReply(id, { kind: 'read', path: download.path, download, inflight: 0 });
        } catch (err) {
          await download.finish(false);
          throw err;
        }
      }
      if (!(pflags & OPEN_FLAGS.CREAT)) await this.session.stat(path); // must exist
      const mode = openMode(pflags);
      const upload = await this.session.openWrite(path, mode);
      try {
        if (attrs.mode !== undefined && mode !== 'keep' && mode !== 'append') await upload.file.setAttributes({ mode: attrs.mode & 0o777 });
        return this.handleReply(id, { kind: 'write', path: upload.path, upload, inflight: 0 });
      } catch (err) {
        await upload.abort();
        throw err;
      }
    },
  },
  [FXP.CLOSE]: {
    name: 'close',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const { key, handle } = this.readHandle(reader.bytes('handle'));
      this.closeHandle(key);
      if (handle.kind === 'write') await handle.upload.commit();
      else if (handle.kind === 'read') await handle.download.finish(true);
      else await handle.iterator.return?.();
      return this.ok(id);
    },
  },
  [FXP.READ]: {
    name: 'read',
    writes: false,
    parallel: true,
    async run({ id, reader }) {
      // Parse every field first: a malformed packet is malformed whatever its handle.
      const raw = reader.bytes('handle');
      const offset = reader.u64('offset');
      const len = Math.min(reader.u32('length'), this.limits.maxReadWriteBytes);
      const { handle } = this.fileHandle(raw);
      const source = handle.kind === 'read' ? handle.download : null;
      // Reply buffer allocated once; the file is read straight into it.
      const out = Buffer.allocUnsafe(DATA_HEADER + len);
      const n = await withHandle(handle, () => (source ? source.read(out, DATA_HEADER, len, offset) : handle.kind === 'write' ? handle.upload.file.read(out, DATA_HEADER, len, offset) : Promise.resolve(0)));
      if (n === 0) return this.status(id, STATUS.EOF, 'End of file');
      out.writeUInt32BE(DATA_HEADER - 4 + n, 0);
      out[4] = FXP.DATA;
      out.writeUInt32BE(id >>> 0, 5);
      out.writeUInt32BE(n, 9);
      return out.subarray(0, DATA_HEADER + n);
    },
  },
  [FXP.WRITE]: {
    name: 'write',
    writes: true,
    parallel: true,
    async run({ id, reader }) {
      const raw = reader.bytes('handle');
      const offset = reader.u64('offset');
      const data = reader.bytes('data');
      const { handle } = this.fileHandle(raw);
      if (data.length > this.limits.maxReadWriteBytes) throw new StatusReply(STATUS.FAILURE, `Write larger than ${this.limits.maxReadWriteBytes} bytes`);
      if (handle.kind !== 'write') throw new StatusReply(STATUS.PERMISSION_DENIED, 'Handle not open for writing');
      await withHandle(handle, async () => {
        let done = 0;
        while (done < data.length) done += await handle.upload.write(data.subarray(done), offset + done);
      });
      return this.ok(id);
    },
  },
  [FXP.LSTAT]: {
    name: 'lstat',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const st = await this.session.lstat(reader.text('path'));
      return encodeAttrs(new PacketWriter(FXP.ATTRS, id), st).finish();
    },
  },
  [FXP.STAT]: {
    name: 'stat',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const st = await this.session.stat(reader.text('path'));
      return encodeAttrs(new PacketWriter(FXP.ATTRS, id), st).finish();
    },
  },
  [FXP.FSTAT]: {
    name: 'fstat',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const { handle } = this.readHandle(reader.bytes('handle'));
      const st = handle.kind === 'read' ? await handle.download.file.stat() : handle.kind === 'write' ? await handle.upload.file.stat() : await this.session.stat(handle.path);
      return encodeAttrs(new PacketWriter(FXP.ATTRS, id), st).finish();
    },
  },
  [FXP.SETSTAT]: {
    name: 'setstat',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const path = reader.text('path');
      const { ownerRequested: _owner, ...attrs } = parseAttrs(reader);
      if (attrs.size !== undefined || attrs.mode !== undefined || attrs.atime !== undefined || attrs.mtime !== undefined) await this.session.setAttributes(path, attrs);
      return this.ok(id);
    },
  },
  [FXP.FSETSTAT]: {
    name: 'fsetstat',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const raw = reader.bytes('handle');
      const attrs = parseAttrs(reader);
      await applyHandleAttrs(this, this.fileHandle(raw).handle, attrs);
      return this.ok(id);
    },
  },
  [FXP.OPENDIR]: {
    name: 'opendir',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const path = this.session.resolvePath(reader.text('path'));
      const iterator = this.session.list(path)[Symbol.asyncIterator]();
      const first = await iterator.next(); // errors (missing, not a directory) surface here
      return this.handleReply(id, { kind: 'dir', path, iterator, pending: first.done ? undefined : first.value, done: first.done === true, inflight: 0 });
    },
  },
  [FXP.READDIR]: {
    name: 'readdir',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const { handle } = this.readHandle(reader.bytes('handle'));
      if (handle.kind !== 'dir') throw new StatusReply(STATUS.FAILURE, 'Not a directory handle');
      const entries: VfsDirEntry[] = [];
      let bytes = 0;
      if (handle.pending) {
        entries.push(handle.pending);
        handle.pending = undefined;
      }
      while (!handle.done && entries.length < READDIR_BATCH && bytes < READDIR_SOFT_BYTES) {
        const next = await handle.iterator.next();
        if (next.done) handle.done = true;
        else {
          entries.push(next.value);
          bytes += 2 * Buffer.byteLength(next.value.name) + 96;
        }
      }
      if (entries.length === 0) return this.status(id, STATUS.EOF, 'End of directory');
      const owner = this.session.user.name;
      return this.name(
        id,
        entries.map((e) => ({ name: e.name, longname: formatLongname(e.name, e.stat, owner), attrs: e.stat })),
      );
    },
  },
  [FXP.REMOVE]: {
    name: 'remove',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      await this.session.remove(reader.text('filename'));
      return this.ok(id);
    },
  },
  [FXP.MKDIR]: {
    name: 'mkdir',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const path = reader.text('path');
      parseAttrs(reader); // mode is ours (0755), as the home's policy decides
      await this.session.mkdir(path);
      return this.ok(id);
    },
  },
  [FXP.RMDIR]: {
    name: 'rmdir',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      await this.session.rmdir(reader.text('path'));
      return this.ok(id);
    },
  },
  [FXP.REALPATH]: {
    name: 'realpath',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      // Quirk 10: realpath(".") is the home, "/" in our virtual namespace.
      const real = await this.session.realpath(reader.text('path') || '.');
      return this.name(id, [{ name: real, longname: real }]);
    },
  },
  [FXP.RENAME]: {
    name: 'rename',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const from = reader.text('oldpath');
      const to = reader.text('newpath');
      // v3 RENAME does not replace an existing target (posix-rename does).
      await this.session.rename(from, to, { overwrite: false });
      return this.ok(id);
    },
  },
  [FXP.READLINK]: {
    name: 'readlink',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const target = await this.session.readlink(reader.text('path'));
      return this.name(id, [{ name: target, longname: target }]);
    },
  },
  [FXP.SYMLINK]: {
    name: 'symlink',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      // Quirk 11: OpenSSH and paramiko send (target, link), the reverse of the draft.
      const first = reader.text('path');
      const second = reader.text('path');
      const [target, linkInput] = this.symlinkOrder === 'draft' ? [second, first] : [first, second];
      const link = this.session.resolvePath(linkInput);
      // SECURITY: a target that climbs above the home is refused outright rather than
      // silently clamped into it (the Vfs re-checks every use of the link as well).
      if (climbsAboveHome(target, link.slice(0, link.lastIndexOf('/')) || '/')) throw new PortcullisError('ERR_VFS_ESCAPE', 'symlink target outside the home');
      await this.session.symlink(target, link);
      return this.ok(id);
    },
  },
  [FXP.EXTENDED]: {
    name: 'extended',
    writes: false, // decided per extension
    parallel: false,
    async run(req) {
      const name = req.reader.bytes('extension name').toString('latin1');
      const ext = EXTENDED_REQUESTS[name];
      if (!ext) return this.status(req.id, STATUS.OP_UNSUPPORTED, `Extension ${name.slice(0, 64)} is not supported`);
      if (ext.writes && !WRITE_PERMISSIONS.some((p) => this.session.can(p))) return this.status(req.id, STATUS.PERMISSION_DENIED, 'This account is read-only');
      return ext.run.call(this, req);
    },
  },
};

const EXTENDED_REQUESTS: Record<string, Omit<RequestDef, 'parallel'>> = {
  'posix-rename@openssh.com': {
    name: 'posix-rename',
    writes: true,
    async run({ id, reader }) {
      const from = reader.text('oldpath');
      const to = reader.text('newpath');
      await this.session.rename(from, to, { overwrite: true });
      return this.ok(id);
    },
  },
  'statvfs@openssh.com': {
    name: 'statvfs',
    writes: false,
    async run({ id, reader }) {
      return this.statvfsReply(id, await this.session.statvfs(reader.text('path')));
    },
  },
  'fstatvfs@openssh.com': {
    name: 'fstatvfs',
    writes: false,
    async run({ id, reader }) {
      const { handle } = this.readHandle(reader.bytes('handle'));
      const path = handle.path.slice(0, handle.path.lastIndexOf('/')) || '/';
      return this.statvfsReply(id, await this.session.statvfs(handle.kind === 'dir' ? handle.path : path));
    },
  },
  'hardlink@openssh.com': {
    name: 'hardlink',
    writes: true,
    async run({ id, reader }) {
      const existing = reader.text('oldpath');
      const newPath = reader.text('newpath');
      await this.session.link(existing, newPath);
      return this.ok(id);
    },
  },
  'fsync@openssh.com': {
    name: 'fsync',
    writes: false,
    async run({ id, reader }) {
      const { handle } = this.fileHandle(reader.bytes('handle'));
      if (handle.kind === 'write') await withHandle(handle, () => handle.upload.file.sync());
      return this.ok(id);
    },
  },
  'limits@openssh.com': {
    name: 'limits',
    writes: false,
    async run({ id }) {
      const l = this.limits;
      return new PacketWriter(FXP.EXTENDED_REPLY, id).u64(l.maxPacketBytes).u64(l.maxReadWriteBytes).u64(l.maxReadWriteBytes).u64(l.maxOpenHandles).finish();
    },
  },
};

