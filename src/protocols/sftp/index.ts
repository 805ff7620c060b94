// The SFTP front end: ssh2 (server side) for transport and authentication, our own SFTP v3
// layer (sftp-server.ts) on the `sftp` subsystem channel, and legacy SCP (`exec scp -t|-f`,
// ../scp/) on the same Session. Everything else a client may ask of an SSH server (other exec,
// shell, forwarding, agent) is refused with a clear message.
//
// Connection lifecycle:
//   accept ─▶ admission (listener) ─▶ ssh2 handshake (strict KEX) ─▶ AuthFlow (password,
//   publickey, keyboard-interactive) ─▶ 'ready' ─▶ session channel ─▶ subsystem sftp ─▶
//   Session + SftpServer ─▶ channel closed ─▶ uploads not closed are aborted, session closed.
import type { Socket } from 'node:net';
import ssh2, { type AuthContext, type Connection, type ParsedKey, type ServerChannel } from 'ssh2';
import type { Core } from '../../app.ts';
import type { Factor } from '../../auth/auth-flow.ts';
import { LIMITS } from '../../config/limits.ts';
import { isPortcullisError, SESSION_REFUSALS, type ErrorCode } from '../../errors/index.ts';
import type { ConnectionContext } from '../../net/connection.ts';
import { listen, type Listening } from '../../net/listener.ts';
import type { Session } from '../../session/session.ts';
import type { User } from '../../store/user-repository.ts';
import type { AdapterFactory, BoundListener, ProtocolAdapter } from '../adapter.ts';
import { parseExecCommand, type ScpCommand } from '../scp/scp-command.ts';
import { ScpServer } from '../scp/scp-server.ts';
import { describeLegacy, selectAlgorithms, type AlgorithmSelection } from './algorithms.ts';
import { explainKexRefusal, watchClientKexInit } from './kex-refusal.ts';
import { sendUserauthBanner } from './userauth-banner.ts';
import { SftpServer } from './sftp-server.ts';

/** The identification string: a name, no version (threat model: no versions in banners). */
export const SSH_IDENT = 'Portcullis';

export const REFUSAL_MESSAGE = 'This server provides SFTP and SCP only: shell, exec of other commands, forwarding and agent requests are refused. Use sftp or scp.\r\n';

/** What a user who needs MFA but has not enrolled is told after the right password. */
export const notEnrolledMessage = (username: string) => `This account needs a one-time code but has none set up: ask the administrator to run "portcullis mfa enroll ${username}".`;

type SshMethod = 'password' | 'publickey' | 'keyboard-interactive';

/** Factors still open → the SSH methods that can continue. */
export function sshMethodsFor(next: readonly Factor[]): SshMethod[] {
  const out = new Set<SshMethod>();
  for (const f of next) {
    if (f === 'publickey') out.add('publickey');
    if (f === 'password') {
      out.add('password');
      out.add('keyboard-interactive');
    }
    if (f === 'totp') out.add('keyboard-interactive');
  }
  return (['publickey', 'password', 'keyboard-interactive'] as const).filter((m) => out.has(m));
}

/**
 * ssh2 1.17 always adds SHA-1 `ssh-rsa` to the host-key algorithms when given an RSA key. We
 * hand it two views of the RSA key typed as `rsa-sha2-512` and `rsa-sha2-256` while the server
 * is built, then let them fall back to the real type (`ssh-rsa`) for signing.
 */
function hostKeysFor(keys: readonly ParsedKey[]): { keys: ParsedKey[]; restore(): void } {
  const views: ParsedKey[] = [];
  const out: ParsedKey[] = [];
  for (const key of keys) {
    if (key.type !== 'ssh-rsa') {
      out.push(key);
      continue;
    }
    for (const alg of ['rsa-sha2-512', 'rsa-sha2-256']) {
      const view = Object.create(key) as ParsedKey;
      Object.defineProperty(view, 'type', { value: alg, configurable: true, writable: true, enumerable: true });
      views.push(view);
      out.push(view);
    }
  }
  return {
    keys: out,
    restore() {
      for (const v of views) delete (v as { type?: string }).type;
    },
  };
}

class SftpAdapter implements ProtocolAdapter {
  readonly name = 'sftp';
  private listening: Listening | undefined;
  private readonly selection: AlgorithmSelection;
  private readonly hostKeys: ParsedKey[];
  private readonly live = new Set<Connection>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly core: Core) {
    this.selection = selectAlgorithms(core.config.sftp.legacyAlgorithms);
    this.hostKeys = core.identity.hostKeys.map((k): ParsedKey => {
      const parsed: ParsedKey | ParsedKey[] | Error = ssh2.utils.parseKey(k.privateKey);
      if (parsed instanceof Error) throw parsed;
      return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
    });
  }

  async start(): Promise<BoundListener[]> {
    const warning = describeLegacy(this.core.config.sftp.legacyAlgorithms);
    if (warning) this.core.logger.warn(warning);
    const { address, port } = this.core.config.sftp;
    this.listening = await listen({
      name: 'sftp',
      protocol: 'sftp',
      address,
      port,
      admission: this.core.admission,
      trustedProxies: this.core.config.proxy.trustedAddresses,
      onConnection: (socket, ctx) => this.accept(socket, ctx),
    });
    return [{ name: 'sftp', scheme: 'sftp', address: this.listening.address, port: this.listening.port }];
  }

  listeningSockets(): Listening[] {
    return this.listening ? [this.listening] : [];
  }

  stopAccepting(): void {
    void this.listening?.close();
  }

  async stop(): Promise<void> {
    const closing = this.listening?.close();
    for (const c of this.live) c.end();
    // Give clients a moment to take the disconnect, then cut off whoever is left.
    for (let i = 0; i < 20 && this.sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
    for (const s of this.sockets) s.destroy();
    await closing;
  }

  /** Key exchange failed: audit and log why, what the client offered, what would admit it. */
  private refusedHandshake(ctx: ConnectionContext, message: string, hello: ReturnType<ReturnType<typeof watchClientKexInit>>): void {
    const legacy = this.core.config.sftp.legacyAlgorithms;
    const explained = hello.offer && /no matching/.test(message) ? explainKexRefusal(hello.offer, this.selection.algorithms, legacy) : undefined;
    const event = {
      type: 'conn.handshake.failed' as const,
      code: explained ? ('ERR_PROTOCOL_NO_COMMON_ALGORITHM' as const) : ('ERR_PROTOCOL_MALFORMED' as const),
      connectionId: ctx.id,
      protocol: 'sftp' as const,
      remoteAddress: ctx.remoteAddress,
      reason: explained ? `no common ${explained.category} algorithm (${message})` : message,
      fix: explained?.fix ?? 'none: the client broke the SSH handshake',
      weakens: explained?.weakens ?? 'nothing (no setting to change)',
      ...(hello.ident !== undefined && { client: hello.ident.slice(0, 255) }),
      ...(hello.offer && { offered: { ...hello.offer } }),
      ...(explained && { ours: { ...explained.ours } }),
    };
    this.core.audit.emit(event);
    this.core.logger.info({ connectionId: ctx.id, remoteAddress: ctx.remoteAddress, client: event.client, reason: event.reason, offered: event.offered, ours: event.ours, fix: event.fix, weakens: event.weakens }, `ssh key exchange refused: ${event.reason}; fix: ${event.fix}`);
  }

  /** One ssh2 server per connection: its callbacks close over this connection's context. */
  private accept(socket: Socket, ctx: ConnectionContext): void {
    // Quirk 13: ssh2 never sets TCP_NODELAY; without it uploads crawl behind Nagle.
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const keys = hostKeysFor(this.hostKeys);
    const clientHello = watchClientKexInit(socket);
    const onHandshakeError = (err: Error & { level?: string }) => {
      if (err.level === 'handshake') this.refusedHandshake(ctx, err.message, clientHello());
    };
    try {
      // `serverSigAlgs` comes from patches/ssh2+1.17.0.patch: the server-sig-algs extension lists
      // exactly the user-key signatures we accept (ssh2 alone sends a fixed, malformed list).
      const config: ssh2.ServerConfig & { serverSigAlgs: string[] } = { hostKeys: keys.keys.map((key) => ({ key })), algorithms: this.selection.algorithms, ident: SSH_IDENT, serverSigAlgs: this.selection.userKeySignatures };
      const server = new ssh2.Server(config, (client, info) => {
        // The ssh2 npm client sends SYMLINK in draft order to servers that are not OpenSSH.
        const symlinkOrder = /^ssh2js/.test(info.header.versions.software) ? 'draft' : 'openssh';
        client.on('error', onHandshakeError);
        new SshConnection(this.core, ctx, client, socket, this.selection, this.live, symlinkOrder).start();
      });
      server.on('error', onHandshakeError);
      server.injectSocket(socket);
    } catch (err) {
      this.core.logger.error({ connectionId: ctx.id, err: (err as Error).message }, 'ssh server setup failed');
      socket.destroy();
    } finally {
      keys.restore();
    }
  }
}

/** One authenticated (or authenticating) SSH connection. */
class SshConnection {
  private readonly flow;
  private readonly timers;
  private user: User | undefined;
  /** Factors still needed after a partial success (decides the keyboard-interactive prompt). */
  private next: Factor[] | undefined;
  private readonly sftp = new Set<SftpServer>();
  private readonly scp = new Set<Session>();
  /** SFTP/SCP sessions started so far (names them). */
  private sessions = 0;
  /** Session channels open now, whatever runs on them (capped: OpenSSH's MaxSessions). */
  private openChannels = 0;
  /** Session channels that asked for SFTP or SCP once already (one each, as sshd). */
  private readonly claimed = new WeakSet<ssh2.Session>();
  private ended = false;
  /** Methods the client tried, and what we last told it can continue (auth.method.refused). */
  private readonly tried = new Set<string>();
  private accepted: SshMethod[] | undefined;
  private username: string | undefined;

  constructor(
    private readonly core: Core,
    private readonly ctx: ConnectionContext,
    private readonly client: Connection,
    private readonly socket: Socket,
    private readonly selection: AlgorithmSelection,
    private readonly live: Set<Connection>,
    private readonly symlinkOrder: 'openssh' | 'draft',
  ) {
    this.flow = core.newAuthFlow(ctx);
    this.timers = core.newTimers((code) => this.timeout(code));
  }

  start(): void {
    const { client } = this;
    this.live.add(client);
    client.on('error', (err: Error) => this.core.logger.debug({ connectionId: this.ctx.id, err: err.message }, 'ssh connection error'));
    client.on('close', () => this.cleanup());
    client.on('end', () => this.cleanup());
    client.on('authentication', (actx) => {
      this.authenticate(actx).catch((err: unknown) => {
        this.core.logger.error({ connectionId: this.ctx.id, err: (err as Error).message }, 'authentication step failed');
        this.end();
      });
    });
    client.on('ready', () => {
      this.timers.authenticated();
      client.on('session', (accept, reject) => this.onChannelOpen(accept, reject));
      client.on('tcpip', (_accept, reject) => reject());
      client.on('openssh.streamlocal', (_accept, reject) => reject());
      client.on('request', (_accept, reject) => reject?.());
    });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.client.end();
    // SECURITY: a peer that ignores our disconnect is cut off.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  private timeout(code: ErrorCode): void {
    this.core.audit.emit({ type: 'session.timeout', code, connectionId: this.ctx.id, protocol: 'sftp', remoteAddress: this.ctx.remoteAddress, ...(this.user && { user: this.user.name }) });
    this.end();
  }

  private cleanup(): void {
    if (!this.user && this.accepted && !this.ended && [...this.tried].every((m) => !this.accepted!.includes(m as SshMethod))) this.noCommonMethod(this.accepted);
    this.accepted = undefined; // cleanup runs on both 'end' and 'close'
    this.timers.stop();
    this.live.delete(this.client);
    for (const s of this.sftp) void s.close();
    this.sftp.clear();
    for (const s of this.scp) void s.close();
    this.scp.clear();
  }

  private async reject(actx: AuthContext, next: Factor[], partial = false): Promise<void> {
    this.accepted = sshMethodsFor(next);
    actx.reject(this.accepted, partial);
  }

  /** The client went away having tried only methods we do not accept for this user. */
  private noCommonMethod(accepted: SshMethod[]): void {
    const tried = [...this.tried];
    const fix = accepted.length
      ? `the client must try one of: ${accepted.join(', ')} (OpenSSH: -o PreferredAuthentications=${accepted.join(',')}); the user's allowed methods decide this list`
      : 'none for this client: the user has no method left (disabled, or outside its allowed addresses or hours)';
    this.core.audit.emit({ type: 'auth.method.refused', code: 'ERR_AUTH_NO_COMMON_METHOD', connectionId: this.ctx.id, protocol: 'sftp', remoteAddress: this.ctx.remoteAddress, ...(this.username !== undefined && { user: this.username }), tried, accepted, fix });
    this.core.logger.info({ connectionId: this.ctx.id, remoteAddress: this.ctx.remoteAddress, user: this.username, tried, accepted, fix }, `ssh login refused: no authentication method in common (tried ${tried.join(', ')}; accepted ${accepted.join(', ') || 'none'}); fix: ${fix}`);
  }

  private async authenticate(actx: AuthContext): Promise<void> {
    const username = actx.username;
    this.tried.add(actx.method);
    this.username = username;
    switch (actx.method) {
      case 'password': {
        const step = await this.flow.password(username, actx.password);
        if (step.status === 'failure' && step.code === 'ERR_AUTH_MFA_NOT_ENROLLED') {
          // The password was right: say what is missing and which command fixes it, in a
          // userauth banner (OpenSSH prints it; paramiko keeps it in get_banner()).
          sendUserauthBanner(actx, notEnrolledMessage(username));
        }
        return this.finish(actx, step);
      }
      case 'keyboard-interactive': {
        // One prompt per round (quirk 5). The answer proves 'password', or, once a first
        // factor is proven and only a code is missing, 'totp' (the core checks the order).
        // Password then code are asked in one keyboard-interactive exchange (two rounds), as
        // sshd with PAM does: OpenSSH does not retry keyboard-interactive after a partial
        // success when NumberOfPasswordPrompts is 1.
        const ask = (prompt: string, instructions = '') =>
          new Promise<string[]>((resolve) => actx.prompt(prompt ? [{ prompt, echo: false }] : [], 'Portcullis', instructions, resolve));
        const wantsCode = this.next !== undefined && this.next.includes('totp') && !this.next.includes('password');
        const answers = await ask(wantsCode ? 'Verification code: ' : 'Password: ');
        if (answers.length !== 1) return this.reject(actx, await this.flow.nextFactors(username));
        let step = wantsCode ? await this.flow.secondFactor(username, answers[0] ?? '') : await this.flow.password(username, answers[0] ?? '');
        if (step.status === 'partial' && step.next.length === 1 && step.next[0] === 'totp') {
          const code = await ask('Verification code: ');
          if (code.length !== 1) return this.reject(actx, step.next, true);
          step = await this.flow.secondFactor(username, code[0] ?? '');
        }
        if (step.status === 'failure' && step.code === 'ERR_AUTH_MFA_NOT_ENROLLED') {
          // The password was right: say what is missing and which command fixes it.
          await ask('', notEnrolledMessage(username));
        }
        return this.finish(actx, step);
      }
      case 'publickey': {
        const { algo, data } = actx.key;
        // Quirk 4 / SECURITY: SHA-1 RSA signatures are refused unless the operator enables them.
        if (algo === 'ssh-rsa' && !actx.hashAlgo && !this.selection.sha1UserSignatures) {
          this.core.audit.emit({ type: 'auth.failed', connectionId: this.ctx.id, protocol: 'sftp', remoteAddress: this.ctx.remoteAddress, user: username, method: 'publickey ssh-rsa (SHA-1)', code: 'ERR_AUTH_METHOD_NOT_ALLOWED', reason: 'not-allowed' });
          return this.reject(actx, await this.flow.nextFactors(username));
        }
        if (!actx.signature) {
          if (await this.flow.publicKeyAcceptable(username, algo, data)) return actx.accept();
          return this.reject(actx, await this.flow.nextFactors(username));
        }
        const step = await this.flow.publicKey(username, { algorithm: algo, blob: data, signature: { data: actx.blob!, signature: actx.signature, hashAlgorithm: actx.hashAlgo } });
        return this.finish(actx, step);
      }
      default:
        // 'none', 'hostbased': list what can work.
        return this.reject(actx, await this.flow.nextFactors(username));
    }
  }

  private async finish(actx: AuthContext, step: Awaited<ReturnType<typeof this.flow.password>>): Promise<void> {
    if (step.status === 'success') {
      this.user = step.user;
      actx.accept();
      return;
    }
    this.next = step.next;
    if (step.status === 'partial') return this.reject(actx, step.next, true);
    await this.reject(actx, step.next);
    if (step.close) this.end();
  }

  private onSession(session: ssh2.Session): void {
    const refuse = (accept: () => ServerChannel) => {
      const channel = accept();
      channel.stderr.write(REFUSAL_MESSAGE);
      channel.exit(1);
      channel.end();
    };
    const deny = (_accept: unknown, reject?: () => void) => reject?.();
    session.on('exec', (accept, reject, info) => {
      const exec = parseExecCommand(info.command);
      if (exec.kind === 'other') {
        this.core.logger.info({ connectionId: this.ctx.id, user: this.user?.name, command: info.command.slice(0, 200) }, 'exec refused: only scp -t/-f is served');
        return refuse(accept);
      }
      if (!this.user) return reject();
      if (exec.kind === 'invalid') {
        const channel = accept();
        // In band, where scp reads its errors; the exec itself is audited as refused input.
        this.core.audit.emit({ type: 'protocol.malformed', code: 'ERR_PROTOCOL_MALFORMED', detail: `scp command refused: ${exec.message}`, connectionId: this.ctx.id, protocol: 'sftp', remoteAddress: this.ctx.remoteAddress, user: this.user.name });
        channel.write(`\x01scp: ${exec.message}\n`);
        channel.exit(1);
        channel.end();
        return;
      }
      this.startSession(session, accept, reject, 'scp', (channel, s) => this.startScp(channel, exec.command, s));
    });
    session.on('shell', (accept) => refuse(accept));
    session.on('pty', deny);
    session.on('env', deny);
    session.on('x11', deny);
    session.on('auth-agent', deny);
    session.on('signal', deny);
    session.on('window-change', deny);
    session.on('subsystem', (accept, reject, info) => {
      if (info.name !== 'sftp' || !this.user) return reject();
      this.startSession(session, accept, reject, 'sftp', (channel, s) => this.startSftp(channel, s));
    });
  }

  /**
   * A session channel opens. SECURITY: counted from open to close whether or not it ever runs
   * anything, and refused past the cap: a client cannot pile up channels on one connection
   * (a multiplexing client, e.g. OpenSSH's ControlMaster, opens and closes them in turn).
   */
  private onChannelOpen(accept: () => ssh2.Session, reject: () => void): void {
    if (this.openChannels >= LIMITS.sshMaxChannelsPerConnection) {
      this.core.audit.emit({ type: 'session.refused', code: 'ERR_SESSION_TOO_MANY_CHANNELS', reason: `${LIMITS.sshMaxChannelsPerConnection} channels already open on this connection (sshMaxChannelsPerConnection): close one, or open another connection`, cap: LIMITS.sshMaxChannelsPerConnection, sessionId: this.ctx.id, connectionId: this.ctx.id, protocol: 'sftp', remoteAddress: this.ctx.remoteAddress, user: this.user?.name });
      reject();
      return;
    }
    this.openChannels += 1;
    const session = accept();
    session.once('close', () => (this.openChannels -= 1));
    this.onSession(session);
  }

  /**
   * SFTP or SCP on a session channel: one session of the user. The request is accepted at once
   * (OpenSSH sends channel data right behind it, without waiting for the reply, and ssh2 drops
   * data for a channel not yet accepted), held paused, and runs only once the user's slot is
   * taken (Core.openSession, atomic). When no slot is free the channel says why on stderr
   * (OpenSSH clients print it) and closes; `session.refused` is audited.
   */
  private startSession(sshSession: ssh2.Session, accept: () => ServerChannel | undefined, reject: () => void, what: 'sftp' | 'scp', run: (channel: ServerChannel, session: Session) => Promise<void>): void {
    if (this.claimed.has(sshSession)) return reject();
    this.claimed.add(sshSession);
    const channel = accept();
    if (!channel) return;
    channel.pause(); // nothing is read until the Session exists
    this.sessions += 1;
    const id = this.sessions === 1 ? this.ctx.id : `${this.ctx.id}/${this.sessions}`;
    let closed = false;
    let opened: Session | undefined;
    channel.once('close', () => {
      closed = true;
      if (opened) void opened.close();
    });
    const open = async (): Promise<void> => {
      let session: Session;
      try {
        session = await this.core.openSession(this.user!, this.ctx, id);
      } catch (err) {
        const refused = SESSION_REFUSALS.some((code) => isPortcullisError(err, code));
        channel.stderr.write(`${refused ? `Refused: ${(err as Error).message}` : `The ${what} session could not be opened`}\r\n`);
        channel.exit(1);
        channel.end();
        // The channel is paused (its first request unread), so ssh2 never sends CLOSE by itself:
        // OpenSSH's ssh then waits for it forever, and `sftp` with it.
        channel.close();
        if (!refused) throw err;
        return;
      }
      opened = session;
      if (this.ended || closed) {
        await session.close();
        return;
      }
      try {
        await run(channel, session);
      } catch (err) {
        channel.exit(1);
        channel.end();
        await session.close();
        throw err;
      }
    };
    open().catch((err: unknown) => this.core.logger.error({ connectionId: this.ctx.id, err: (err as Error).message }, `${what} session failed`));
  }

  /** Legacy SCP on an exec channel, over the same Session as SFTP (src/protocols/scp/). */
  private async startScp(channel: ServerChannel, command: ScpCommand, session: Session): Promise<void> {
    const scp = new ScpServer({
      session,
      channel,
      command,
      onRefused: (code, detail) => {
        this.core.audit.emit({ type: 'protocol.malformed', code, detail: `scp: ${detail}`, connectionId: this.ctx.id, protocol: 'sftp', remoteAddress: this.ctx.remoteAddress, user: this.user?.name });
      },
      onActivity: () => this.timers.touch(),
      onUnexpected: (err) => this.core.logger.error({ connectionId: this.ctx.id, err: (err as Error).message, stack: (err as Error).stack }, 'scp: unexpected error'),
    });
    this.scp.add(session);
    if (this.ended) {
      await session.close();
      return;
    }
    channel.resume();
    try {
      const code = await scp.run();
      channel.exit(code);
      channel.end();
    } finally {
      await session.close(); // an upload not committed is aborted here
      this.scp.delete(session);
    }
  }

  private async startSftp(channel: ServerChannel, session: Session): Promise<void> {
    const sftp = new SftpServer({
      session,
      channel,
      limits: { maxPacketBytes: LIMITS.sftpMaxPacketBytes, maxReadWriteBytes: LIMITS.sftpMaxReadWriteBytes, maxOpenHandles: LIMITS.sftpMaxOpenHandles },
      onMalformed: (detail) => {
        this.core.audit.emit({ type: 'protocol.malformed', code: 'ERR_PROTOCOL_MALFORMED', detail, connectionId: this.ctx.id, protocol: 'sftp', remoteAddress: this.ctx.remoteAddress, user: this.user?.name });
        // SECURITY: a malformed packet ends this connection (and only this one).
        this.end();
      },
      onActivity: () => this.timers.touch(),
      onClientEnd: () => channel.exit(0),
      symlinkOrder: this.symlinkOrder,
      transport: this.socket,
      logger: this.core.logger,
    });
    this.sftp.add(sftp);
    channel.on('close', () => this.sftp.delete(sftp));
    if (this.ended) await sftp.close();
    else channel.resume();
  }
}

export const createSftpAdapter: AdapterFactory = (core) => (core.config.sftp.enabled ? new SftpAdapter(core) : null);
