// One FTP control connection: the state machine of RFC 959 + 4217 (TLS) + 2428 (EPSV/EPRT)
// + 3659 (MLSD/SIZE/MDTM), driven by the command table in commands.ts.
//
//   accepted ─(implicit: TLS handshake)─▶ 220 ─AUTH TLS─▶ TLS ─PBSZ/PROT P─▶ USER/PASS ─▶ session
//      │ explicit: 220 in clear; only AUTH, FEAT, SYST, HELP, NOOP, QUIT before TLS
//      └──────────────── any close: transfers aborted, uploads discarded, session closed
//
// Commands run one at a time, in order; a transfer command holds the queue until its final
// reply, except ABOR, which is handled at once.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Core } from '../../app.ts';
import { LIMITS } from '../../config/limits.ts';
import type { AuthFlow } from '../../auth/auth-flow.ts';
import { fromSystemError, isPortcullisError, reportInternal, SESSION_REFUSALS, type ErrorCode } from '../../errors/index.ts';
import type { TlsIdentity } from '../../identity/identity.ts';
import { normaliseAddress, type ConnectionContext } from '../../net/connection.ts';
import type { ConnectionTimers } from '../../net/timeouts.ts';
import type { Session } from '../../session/session.ts';
import { COMMANDS } from './commands.ts';
import { DataChannelError, type PassivePorts } from './data-channel.ts';
import { replyForError, replyForErrorCode } from './error-replies.ts';
import { LineReader } from './line-reader.ts';
import { formatReply, formatReplyPart } from './replies.ts';
import { CloseNotifyGuard, TLS_CLOSED_DURING_HANDSHAKE, TlsBinding, TlsHandshakeError } from './tls-binding.ts';
import { explainTlsFailure } from './tls-refusal.ts';

export interface FtpConnectionDeps {
  core: Core;
  tlsIdentity: () => TlsIdentity;
  passivePorts: PassivePorts;
}

type DataSetup = { kind: 'passive'; server: net.Server; socket: Promise<net.Socket>; expiry: NodeJS.Timeout } | { kind: 'active'; address: string; port: number };

/** An upload's data connection, and the check that its end was the client's own. */
export interface UploadData {
  data: Duplex;
  /** True when the upload ended as the client meant it to (see openUploadData). */
  endedCleanly: () => Promise<boolean>;
}

export interface RunningTransfer {
  controller: AbortController;
  done: Promise<void>;
}

const WRITE_PERMISSIONS = ['upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir', 'setstat'] as const;

export class FtpConnection {
  private control: net.Socket;
  private tls: TlsBinding | null = null;
  private readonly reader = new LineReader(LIMITS.ftpMaxLineBytes);
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Lines waiting to run; null is an overlong line (its reply keeps its place in the order). */
  private readonly queue: (Buffer | null)[] = [];
  private busy = false;
  /** AUTH TLS accepted, handshake not done: clear-text input is no longer read. */
  private upgrading = false;
  /** Bytes received in clear after AUTH TLS and discarded (audited once TLS is up). */
  private droppedInClear = 0;
  private overlong = 0;
  private dataSetup: DataSetup | null = null;
  private readonly flow: AuthFlow;
  private readonly timers: ConnectionTimers;

  closed = false;
  secure = false;
  pbsz = false;
  prot: 'C' | 'P' = 'C';
  userName: string | undefined;
  session: Session | undefined;
  cwd = '/';
  restOffset = 0;
  renameFrom: string | undefined;
  hashAlgorithm: 'SHA-256' | 'SHA-512' | 'SHA-1' | 'MD5' = 'SHA-256';
  transfer: RunningTransfer | null = null;

  constructor(
    private readonly raw: net.Socket,
    readonly ctx: ConnectionContext,
    readonly deps: FtpConnectionDeps,
  ) {
    this.control = raw;
    this.flow = deps.core.newAuthFlow(ctx);
    this.timers = deps.core.newTimers((code) => this.closeWith(code));
    raw.once('close', () => {
      this.markControlEnded();
      void this.cleanup();
    });
    raw.once('end', () => this.markControlEnded());
  }

  get core(): Core {
    return this.deps.core;
  }

  get allowPlaintext(): boolean {
    return this.core.config.ftps.allowPlaintext;
  }

  /** Explicit FTPS: a clear banner, TLS after AUTH TLS. */
  startExplicit(): void {
    this.attach(this.raw);
    this.reply(220, 'FTPS server ready; AUTH TLS required');
  }

  /** Implicit FTPS: TLS from the first byte, no clear banner. */
  async startImplicit(): Promise<void> {
    try {
      const socket = await this.bindTls().handshake(this.raw);
      this.becomeSecure(socket);
      this.attach(socket);
      this.reply(220, 'FTPS server ready');
    } catch (err) {
      this.refusedTls(err, 'control (implicit)');
      this.destroy();
    }
  }

  /** A TLS handshake failed: audit and log the reason and the fix (tls-refusal.ts). */
  private refusedTls(err: unknown, channel: string): void {
    if (this.closed) return; // our own shutdown cut the handshake short
    const cause = err instanceof TlsHandshakeError ? err.cause : err;
    // A peer that closed without a word (a port probe, a health check) refused nothing:
    // conn.closed records it.
    if (cause instanceof Error && cause.message === TLS_CLOSED_DURING_HANDSHAKE) return;
    const alpn = err instanceof TlsHandshakeError ? err.alpn : undefined;
    const why = explainTlsFailure(cause, alpn);
    const code = (cause as { code?: string } | undefined)?.code;
    this.core.audit.emit({
      type: 'conn.handshake.failed',
      code: 'ERR_PROTOCOL_TLS_HANDSHAKE',
      connectionId: this.ctx.id,
      protocol: this.ctx.protocol,
      remoteAddress: this.ctx.remoteAddress,
      ...(this.session && { user: this.session.user.name }),
      reason: why.reason,
      fix: why.fix,
      weakens: why.weakens,
      offered: { channel, ...(alpn && { alpn }), ...(code && { openssl: code }) },
    });
    this.core.logger.info({ connectionId: this.ctx.id, remoteAddress: this.ctx.remoteAddress, channel, alpn, openssl: code ?? (cause as Error | undefined)?.message, fix: why.fix }, `tls handshake refused (${channel}): ${why.reason}; fix: ${why.fix}`);
  }

  private bindTls(): TlsBinding {
    this.tls ??= new TlsBinding(this.deps.tlsIdentity());
    return this.tls;
  }

  private becomeSecure(socket: tls.TLSSocket): void {
    this.secure = true;
    this.control = socket;
    socket.on('error', () => undefined); // ends in 'close' of the raw socket
    socket.once('end', () => this.markControlEnded());
    socket.once('close', () => {
      this.markControlEnded();
      this.raw.destroy();
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    for (const ev of this.reader.push(chunk)) {
      if (this.closed) return;
      if (ev.kind === 'overlong') {
        this.overlong += 1;
        this.core.audit.emit({ type: 'protocol.malformed', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, code: 'ERR_PROTOCOL_LINE_TOO_LONG', detail: `line over ${LIMITS.ftpMaxLineBytes} bytes` });
        if (this.overlong >= LIMITS.ftpMaxOverlongLines) {
          this.closeWith('ERR_PROTOCOL_LINE_TOO_LONG');
          return;
        }
        this.queueLine(null);
        continue;
      }
      this.queueLine(ev.bytes);
    }
  };

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
  }

  private queueLine(line: Buffer | null): void {
    // SECURITY: after AUTH TLS, nothing that arrived in clear is run (STARTTLS injection).
    if (this.upgrading) {
      this.droppedInClear += line ? line.length + 2 : LIMITS.ftpMaxLineBytes;
      return;
    }
    if (line && this.transfer && /^\s*ABOR\s*$/i.test(line.toString('latin1'))) {
      void this.abortTransfer();
      return;
    }
    if (this.queue.length >= LIMITS.ftpMaxQueuedCommands) {
      this.closeWith('ERR_PROTOCOL_MALFORMED');
      return;
    }
    this.queue.push(line);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        // SECURITY: back-pressure: the next command runs only once the client has read the
        // replies so far (a client that sends and never reads cannot grow our output).
        if (!(await this.outputDrained())) return;
        const line = this.queue.shift();
        if (!line) this.reply(500, 'Command line too long');
        else await this.execute(line);
      }
    } finally {
      this.busy = false;
    }
  }

  private async execute(bytes: Buffer): Promise<void> {
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      this.reply(501, 'Command is not valid UTF-8');
      return;
    }
    const m = /^([A-Za-z]{3,4})(?: (.*))?$/s.exec(text.replace(/\s+$/, ''));
    if (!m) {
      this.reply(500, 'Syntax error, command unrecognized');
      return;
    }
    const verb = m[1]!.toUpperCase();
    const arg = m[2] ?? '';
    this.timers.touch();
    const row = COMMANDS.get(verb);
    if (!row) {
      this.reply(502, 'Command not implemented');
      return;
    }
    try {
      // SECURITY: nothing but AUTH and harmless queries is accepted before TLS.
      if (row.needsTls && !this.secure && !this.allowPlaintext) {
        this.reply(530, 'Use AUTH TLS first: this server does not accept commands or logins in clear');
        return;
      }
      if (row.needsAuth && !this.session) {
        this.reply(530, 'Please log in with USER and PASS');
        return;
      }
      if (row.writes && this.session && !WRITE_PERMISSIONS.some((p) => this.session!.can(p))) {
        this.reply(550, 'Permission denied (read-only account)');
        return;
      }
      await row.handler(this, arg);
    } catch (err) {
      if (!(err instanceof DataChannelError)) reportInternal(fromSystemError(err), this.deps.core.logger, { connectionId: this.ctx.id, command: verb });
      const r = err instanceof DataChannelError ? err : replyForError(err);
      this.reply(r.code, r.text);
    } finally {
      if (verb !== 'REST') this.restOffset = 0;
      if (verb !== 'RNFR') this.renameFrom = undefined;
    }
  }

  reply(code: number, text: string | readonly string[]): void {
    this.writeOutput(formatReply(code, text));
  }

  /**
   * A multi-line reply whose middle lines come from `lines` (a STAT listing): written piece by
   * piece with back-pressure, never built whole. The first line is written only once the first
   * middle line is known, so an error before it is an ordinary error reply.
   */
  async replyStream(code: number, first: string, lines: AsyncIterable<string>, last: string): Promise<void> {
    const it = lines[Symbol.asyncIterator]();
    let next = await it.next();
    let chunk = formatReplyPart.first(code, first);
    try {
      while (!next.done) {
        chunk += formatReplyPart.middle(next.value);
        if (chunk.length >= LIMITS.ftpReplyChunkBytes) {
          this.writeOutput(chunk);
          chunk = '';
          if (!(await this.outputDrained())) return;
        }
        next = await it.next();
      }
    } catch (err) {
      // The reply has begun: it must end with its own code. Nothing internal is disclosed.
      const r = replyForError(err);
      this.writeOutput(chunk + formatReplyPart.last(code, `Listing incomplete: ${r.text}`));
      return;
    } finally {
      if (!next.done) await it.return?.();
    }
    this.writeOutput(chunk + formatReplyPart.last(code, last));
  }

  /** Writes to the control connection; a client that lets too much pile up is dropped. */
  private writeOutput(text: string): void {
    if (this.control.destroyed || !this.control.writable) return;
    this.control.write(text);
    // SECURITY: bounded output per connection, whatever path wrote it (replies during a
    // transfer do not wait for the client).
    if (this.control.writableLength > LIMITS.ftpMaxOutputBytes) this.dropStalled(`over ${LIMITS.ftpMaxOutputBytes} bytes of replies unread`);
  }

  /**
   * Resolves true once the control connection's output has drained (at once when it has), false
   * when the connection is gone: dropped after LIMITS.ftpOutputStallTimeoutMs without draining.
   */
  private outputDrained(): Promise<boolean> {
    const out = this.control;
    if (out.destroyed || this.closed) return Promise.resolve(false);
    if (!out.writableNeedDrain) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        out.off('drain', onDrain);
        out.off('close', onClose);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onClose = (): void => done(false);
      const timer = setTimeout(() => {
        this.dropStalled(`replies unread for ${LIMITS.ftpOutputStallTimeoutMs} ms`);
        done(false);
      }, LIMITS.ftpOutputStallTimeoutMs);
      timer.unref();
      out.once('drain', onDrain);
      out.once('close', onClose);
    });
  }

  /** A client that does not read its replies: audited and disconnected (nothing more is sent). */
  private dropStalled(detail: string): void {
    if (this.control.destroyed) return;
    this.core.audit.emit({ type: 'session.timeout', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, user: this.session?.user.name, code: 'ERR_PROTOCOL_OUTPUT_STALLED' });
    this.core.logger.info({ connectionId: this.ctx.id, detail }, 'FTP client dropped: it does not read its replies');
    this.destroy();
  }

  // ---------------------------------------------------------------- TLS and login

  /** AUTH TLS: the 234 reply in clear, then the handshake on the same socket. */
  async upgradeToTls(): Promise<void> {
    // SECURITY: STARTTLS injection (CVE-2011-0411). Nothing received in clear after AUTH may
    // reach the TLS session: lines queued behind it, lines in the same read (queueLine drops
    // them while upgrading) and a partial line in the reader are all discarded. Bytes arriving
    // after this point go to the TLS layer (clear text there fails the handshake).
    this.upgrading = true;
    this.raw.off('data', this.onData);
    this.raw.pause();
    for (const line of this.queue.splice(0)) this.droppedInClear += line ? line.length + 2 : LIMITS.ftpMaxLineBytes;
    this.droppedInClear += this.reader.discard();
    this.reply(234, 'Proceed with TLS negotiation');
    try {
      const socket = await this.bindTls().handshake(this.raw);
      this.upgrading = false;
      this.becomeSecure(socket);
      this.attach(socket);
    } catch (err) {
      this.refusedTls(err, 'control (AUTH TLS)');
      this.destroy();
      return;
    }
    if (this.droppedInClear > 0) {
      this.core.audit.emit({ type: 'protocol.malformed', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, code: 'ERR_PROTOCOL_MALFORMED', detail: `${this.droppedInClear} bytes sent in clear after AUTH TLS were discarded (STARTTLS injection); send nothing after AUTH TLS until the handshake is done` });
    }
  }

  async login(password: string): Promise<void> {
    const user = this.userName;
    this.userName = undefined;
    if (user === undefined) {
      this.reply(503, 'Log in with USER first');
      return;
    }
    if (Buffer.byteLength(password) > LIMITS.maxPasswordBytes) {
      this.reply(530, 'Login incorrect');
      return;
    }
    // A user who needs MFA appends the one-time (or recovery) code: PASS <password><code>.
    const peer = this.control instanceof tls.TLSSocket ? this.control.getPeerCertificate() : null;
    const clientCertificate = peer?.raw ? { raw: peer.raw } : undefined;
    const step = await this.flow.passwordWithCode(user, password, clientCertificate);
    if (step.status === 'success') {
      // One control connection is one session: the user's cap is taken here (atomically).
      try {
        this.session = await this.core.openSession(step.user, this.ctx);
      } catch (err) {
        const refusal = SESSION_REFUSALS.find((code) => isPortcullisError(err, code));
        if (!refusal) throw err;
        this.closeWith(refusal); // audited as session.refused
        return;
      }
      if (this.closed) {
        await this.session.close();
        return;
      }
      this.timers.authenticated();
      this.reply(230, 'Login successful');
      return;
    }
    if (step.status === 'failure' && step.code === 'ERR_AUTH_MFA_NOT_ENROLLED') {
      this.reply(530, `This account needs a one-time code but has none set up: ask the administrator to run "portcullis mfa enroll ${user}"`);
      this.closed = true;
      this.control.end();
      setTimeout(() => this.destroy(), 1000).unref();
      return;
    }
    if (step.status === 'failure' && step.close) {
      this.closeWith(step.code);
      return;
    }
    this.reply(530, 'Login incorrect');
  }

  // ---------------------------------------------------------------- data channel

  async openPassive(): Promise<number> {
    // SECURITY: one pending listener per session: a new PASV/EPSV closes the last.
    this.closeDataSetup();
    const expected = this.ctx.remoteAddress;
    const owner = { user: this.session!.user.name, address: expected };
    const over = this.deps.passivePorts.check(owner);
    if (over) {
      // SECURITY: passive-port exhaustion: a few accounts or one address cannot hold the range.
      const cap = over === 'user' ? LIMITS.ftpPassivePendingPerUser : LIMITS.ftpPassivePendingPerAddress;
      this.core.audit.emit({ type: 'conn.refused', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: expected, user: owner.user, code: 'ERR_PROTOCOL_PASSIVE_LIMIT', rule: `ftps.passive.per-${over}` });
      throw new DataChannelError(425, `Too many data connections waiting for this ${over === 'user' ? 'account' : 'address'} (at most ${cap}); use them or close the other sessions`);
    }
    let settle: { resolve: (s: net.Socket) => void; reject: (e: Error) => void } | undefined;
    const socket = new Promise<net.Socket>((resolve, reject) => {
      settle = { resolve, reject };
    });
    socket.catch(() => undefined);
    const server = await this.deps.passivePorts.listen(this.ctx.localAddress, owner, (s) => {
      s.on('error', () => undefined);
      const from = normaliseAddress(s.remoteAddress ?? '');
      // SECURITY: a data connection must come from the control connection's peer.
      if (from !== expected) {
        s.destroy();
        this.core.audit.emit({ type: 'conn.refused', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: from, code: 'ERR_ADMISSION_DENIED', rule: 'ftps.data.peer-address' });
        return;
      }
      server.close();
      settle?.resolve(s);
      settle = undefined;
    });
    server.once('close', () => settle?.reject(new DataChannelError(425, 'Data connection closed')));
    // A listener (or its accepted socket) not taken by a transfer command in time is closed.
    const expiry = setTimeout(() => {
      if (this.dataSetup?.kind === 'passive' && this.dataSetup.server === server) this.closeDataSetup();
    }, LIMITS.ftpPassivePendingTimeoutMs);
    expiry.unref();
    this.dataSetup = { kind: 'passive', server, socket, expiry };
    return (server.address() as net.AddressInfo).port;
  }

  setActive(address: string, port: number): void {
    this.closeDataSetup();
    this.dataSetup = { kind: 'active', address, port };
  }

  get hasDataSetup(): boolean {
    return this.dataSetup !== null;
  }

  closeDataSetup(): void {
    if (this.dataSetup?.kind === 'passive') {
      clearTimeout(this.dataSetup.expiry);
      this.dataSetup.server.close();
      void this.dataSetup.socket.then((s) => s.destroy(), () => undefined);
    }
    this.dataSetup = null;
  }

  /** Checks that a transfer may start (replies and returns false when not). */
  checkDataReady(): boolean {
    if (this.secure && this.prot !== 'P') {
      this.reply(521, 'Data connections must be protected: send PBSZ 0 and PROT P');
      return false;
    }
    if (!this.dataSetup) {
      this.reply(425, 'Use PASV, EPSV, PORT or EPRT first');
      return false;
    }
    return true;
  }

  /** The data connection of the current transfer: connected, and under TLS bound to ours. */
  async openData(signal: AbortSignal): Promise<Duplex> {
    return (await this.connectData(signal, false)).data;
  }

  /**
   * The data connection of an upload. Under TLS it ends only on the client's close_notify
   * (CloseNotifyGuard): a bare TCP FIN fails the transfer with ERR_PROTOCOL_TLS_TRUNCATED, so a
   * finished stream is a complete upload and is committed at once. Without TLS (plain FTP,
   * when an operator allows it) a FIN is all there is: the upload is kept only if the control
   * connection is still there LIMITS.ftpUploadCommitGraceMs later (a killed client closes both).
   */
  async openUploadData(signal: AbortSignal): Promise<UploadData> {
    const { data, guard } = await this.connectData(signal, true);
    if (guard) return { data, endedCleanly: () => Promise.resolve(guard.closedCleanly) };
    return { data, endedCleanly: async () => !(await this.controlEndsWithin(LIMITS.ftpUploadCommitGraceMs)) };
  }

  private async connectData(signal: AbortSignal, upload: boolean): Promise<{ data: Duplex; guard: CloseNotifyGuard | null }> {
    const setup = this.dataSetup;
    this.dataSetup = null;
    if (!setup) throw new DataChannelError(425, 'Use PASV, EPSV, PORT or EPRT first');
    if (setup.kind === 'passive') clearTimeout(setup.expiry); // the transfer's own timeout applies now
    const raw = await withTimeout(setup.kind === 'passive' ? setup.socket : this.connectActive(setup.address, setup.port), LIMITS.ftpDataConnectTimeoutMs, signal, () => {
      if (setup.kind === 'passive') setup.server.close();
    }).catch((err: unknown) => {
      if (setup.kind === 'passive') void setup.socket.then((s) => s.destroy(), () => undefined);
      throw err instanceof DataChannelError ? err : new DataChannelError(425, 'Cannot open data connection');
    });
    if (!this.secure) {
      raw.resume();
      return { data: raw, guard: null };
    }
    // SECURITY: an upload's end must be the client's TLS close_notify, not a bare FIN.
    const guard = upload ? new CloseNotifyGuard(raw) : null;
    let data: tls.TLSSocket;
    try {
      // A deeper write queue keeps the socket fed between file reads (large downloads).
      // A renewed ticket for the client's next data connection, unless the client will not read
      // this one (an upload: see ticket-keys.ts).
      data = await this.bindTls().handshake(guard ?? raw, { highWaterMark: LIMITS.ftpDataBufferBytes, renewTicket: !upload });
    } catch (err) {
      this.refusedTls(err, 'data');
      raw.destroy();
      throw new DataChannelError(425, 'TLS handshake on the data connection failed');
    }
    data.on('error', () => undefined);
    // SECURITY: every data connection must resume this control connection's TLS session (its
    // tickets and session IDs exist nowhere else: tls-binding.ts), or a client at the same
    // address (NAT, a shared host) could take over any transfer with a fresh handshake.
    if (!data.isSessionReused() && this.core.config.ftps.dataTlsSessionReuse === 'required') {
      // A clean TLS close (close_notify), so the client reads EOF and then our 522.
      data.end();
      setTimeout(() => raw.destroy(), 2000).unref();
      this.core.audit.emit({ type: 'conn.refused', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, code: 'ERR_ADMISSION_DENIED', rule: 'ftps.data.tls-session-reuse' });
      throw new DataChannelError(522, 'Data connection must resume the TLS session of the control connection (TLS session reuse required)');
    }
    data.once('close', () => raw.destroy());
    return { data, guard };
  }

  private connectActive(address: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: address, port, localAddress: this.ctx.localAddress, noDelay: true });
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => undefined);
        s.pause();
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  /** Runs a transfer command body; ABOR can interrupt it through the signal. */
  async runTransfer(body: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.transfer = { controller, done };
    this.timers.hold();
    try {
      await body(controller.signal);
    } finally {
      this.timers.release();
      this.transfer = null;
      finish();
    }
  }

  private async abortTransfer(): Promise<void> {
    const t = this.transfer;
    if (!t) return;
    t.controller.abort();
    this.closeDataSetup();
    await t.done;
    this.reply(226, 'Abort successful');
  }

  /** True when the control connection has gone (a killed client): its upload is not kept. */
  get controlGone(): boolean {
    return this.closed || this.raw.destroyed || this.control.destroyed;
  }

  private controlEnded: (() => void)[] = [];

  private markControlEnded(): void {
    this.closed = true;
    for (const f of this.controlEnded.splice(0)) f();
  }

  /** Resolves true if the control connection ends within `ms` (or has already ended). */
  controlEndsWithin(ms: number): Promise<boolean> {
    if (this.controlGone) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (gone: boolean): void => {
        clearTimeout(timer);
        this.controlEnded = this.controlEnded.filter((f) => f !== onEnd);
        resolve(gone);
      };
      const onEnd = (): void => done(true);
      const timer = setTimeout(() => done(this.controlGone), ms);
      this.controlEnded.push(onEnd);
    });
  }

  // ---------------------------------------------------------------- end of connection

  private closeWith(code: ErrorCode): void {
    if (this.closed) return;
    const r = replyForErrorCode(code);
    if (code === 'ERR_SESSION_LOGIN_TIMEOUT' || code === 'ERR_SESSION_IDLE_TIMEOUT') {
      this.core.audit.emit({ type: 'session.timeout', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, code });
    }
    this.reply(421, r.text);
    this.closed = true;
    this.control.end();
    setTimeout(() => this.destroy(), 1000).unref();
  }

  quit(): void {
    this.reply(221, 'Goodbye');
    this.closed = true;
    this.control.end();
    setTimeout(() => this.destroy(), 1000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.control.destroy();
    this.raw.destroy();
  }

  private cleaned = false;

  private async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    this.closed = true;
    this.timers.stop();
    this.transfer?.controller.abort();
    this.closeDataSetup();
    this.tls?.close();
    const s = this.session;
    this.session = undefined;
    await s?.close().catch(() => undefined);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, signal: AbortSignal, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (): void => {
      clearTimeout(timer);
      onTimeout();
      reject(new DataChannelError(425, 'Data connection not established in time'));
    };
    const timer = setTimeout(fail, ms);
    signal.addEventListener('abort', fail, { once: true });
    p.then(
      (v) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', fail);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', fail);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
