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
import type { Session } from '../../session/session.ts';
import type { VfsStatvfs } from '../../vfs/vfs.ts';
import { encodeAttrs } from './attrs.ts';
import { EXTENSIONS, extensionsFor, FXP, SFTP_VERSION, ST_NOSUID, ST_RDONLY, STATUS, type StatusCode } from './constants.ts';
import { pooledMemory, releaseBuffer } from './buffer-pool.ts';
import { MalformedPacketError, PacketFramer, PacketWriter, SftpReader } from './packet.ts';
import { StatusReply, WRITE_PERMISSIONS, type FileHandle, type Handle, type Request, type RequestDef } from './request-types.ts';
import { REQUESTS } from './requests.ts';
import { statusForError } from './status.ts';
import { reportInternal, type ErrorLogger } from '../../errors/index.ts';

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
  /** The connection's socket: replies sent together are corked into one write (a 255 KiB READ
   * reply is 8 SSH packets; one writev instead of 8 writes). */
  transport?: { cork(): void; uncork(): void };
  /** Where an ERR_INTERNAL (a bug in a handler) is logged, once, with the connection id. */
  logger?: ErrorLogger;
}

// The caps live with every other hard limit in src/config/limits.ts.
export const MAX_PARALLEL_IO = LIMITS.sftpMaxParallelIo;
export const MAX_QUEUED_REQUESTS = LIMITS.sftpMaxQueuedRequests;
export const MAX_READ_BYTES_IN_FLIGHT = LIMITS.sftpMaxReadBytesInFlight;
const MAX_HANDLE_BYTES = LIMITS.sftpMaxHandleBytes;

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
  private readonly ready = new Map<number, { reply: Buffer | null; readBytes: number }>();
  /** Bytes of READ replies started and not yet sent by the channel (MAX_READ_BYTES_IN_FLIGHT). */
  private readBytesInFlight = 0;
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
    this.queue.push({ type, id, reader, payload });
  }

  private sendVersion(_clientVersion: number): void {
    // We speak v3 whatever the client asks for (every client we know of asks for 3).
    const w = new PacketWriter(FXP.VERSION).u32(SFTP_VERSION);
    const offered = extensionsFor(this.session.capabilities);
    for (const { name, version } of EXTENSIONS) if (offered.has(name)) w.string(name).string(version);
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
      // SECURITY: memory per session. A READ waits while the replies already read hold the
      // budget (a READ alone larger than it runs when nothing else is held).
      const readBytes = req.type === FXP.READ ? this.requestedReadBytes(req.payload) : 0;
      if (readBytes > 0 && this.readBytesInFlight > 0 && this.readBytesInFlight + readBytes > MAX_READ_BYTES_IN_FLIGHT) break;
      this.readBytesInFlight += readBytes;
      this.queue.shift();
      if (!parallel) this.barrierRunning = true;
      this.inflight += 1;
      void this.execute(req, def, this.nextSeq++, readBytes).finally(() => {
        // The request is done with its bytes (handlers copy what they keep).
        releaseBuffer(req.payload);
        this.inflight -= 1;
        if (!parallel) this.barrierRunning = false;
        if (this.inflight === 0) for (const fn of this.idle.splice(0)) fn();
        this.pump();
      });
    }
    this.updateInput();
  }

  /** The length a READ asks for (capped as the handler caps it); 0 when the packet is too
   * short to say (the handler then reports it malformed). */
  private requestedReadBytes(payload: Buffer): number {
    // type u8, id u32, handle string, offset u64, length u32
    if (payload.length < 9) return 0;
    const at = 9 + payload.readUInt32BE(5) + 8;
    if (at + 4 > payload.length) return 0;
    return Math.min(payload.readUInt32BE(at), this.limits.maxReadWriteBytes);
  }

  /** A READ reply has left (or never held its budget): the next READs may start. */
  private readDone(readBytes: number): void {
    if (readBytes === 0) return;
    this.readBytesInFlight -= readBytes;
    this.pump();
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

  private async execute(req: Request, def: RequestDef | undefined, seq: number, readBytes: number): Promise<void> {
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
        this.deliver(seq, null, readBytes);
        return;
      }
      if (err instanceof StatusReply) reply = this.status(req.id, err.code, err.message);
      else {
        const s = statusForError(err, (e) => reportInternal(e, this.options.logger, { connectionId: this.session.ctx.id, sessionId: this.session.id, request: def?.name }));
        reply = this.status(req.id, s.code, s.message);
      }
    }
    this.deliver(seq, reply, readBytes);
  }

  /** Replies leave in request order, whatever order the work finished in: paramiko 2.12
   * waits for WRITE statuses oldest first and hangs forever on one that overtook another. */
  private deliver(seq: number, reply: Buffer | null, readBytes = 0): void {
    this.ready.set(seq, { reply, readBytes });
    if (seq !== this.sendSeq) return; // an earlier reply is still being worked on
    const transport = this.options.transport;
    transport?.cork();
    try {
      for (let next = this.ready.get(this.sendSeq); next !== undefined; next = this.ready.get(this.sendSeq)) {
        this.ready.delete(this.sendSeq);
        this.sendSeq += 1;
        if (next.reply !== null) this.send(next.reply, next.readBytes);
        else this.readDone(next.readBytes);
      }
    } finally {
      transport?.uncork();
    }
  }

  private send(packet: Buffer, readBytes = 0): void {
    if (!this.channel.writable) {
      this.readDone(readBytes);
      return;
    }
    const pooled = pooledMemory(packet);
    // A pooled buffer goes back only once the channel is done with it (ssh2 may keep a view
    // while it waits for window); if the channel closes first, it is simply not reused. The
    // READ budget comes back at the same moment (or at once for a reply that is not pooled).
    const written = pooled
      ? this.channel.write(packet, () => {
          releaseBuffer(pooled);
          this.readDone(readBytes);
        })
      : this.channel.write(packet);
    if (!pooled) this.readDone(readBytes);
    if (!written) {
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
