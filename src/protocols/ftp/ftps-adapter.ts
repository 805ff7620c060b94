// The FTPS front end: explicit (AUTH TLS) and implicit listeners, one FtpConnection per
// admitted socket. Only translation lives here; policy is in the core.
import type { Core } from '../../app.ts';
import { parsePortRange } from '../../config/schema.ts';
import type { TlsIdentity } from '../../identity/identity.ts';
import { listen, type Listening } from '../../net/listener.ts';
import type { AdapterFactory, BoundListener, ProtocolAdapter } from '../adapter.ts';
import { FtpConnection } from './connection.ts';
import { PassivePorts } from './data-channel.ts';
import { ticketRenewalAvailable } from './ticket-keys.ts';
import { passiveSlice, workerSlot } from '../../workers/slot.ts';

class FtpsAdapter implements ProtocolAdapter {
  readonly name = 'ftps';
  private readonly listening: Listening[] = [];
  private readonly connections = new Set<FtpConnection>();
  private tls: TlsIdentity;
  private readonly passivePorts: PassivePorts;

  constructor(private readonly core: Core) {
    this.tls = core.identity.tls;
    // workers > 1: this worker's own slice of the range, bound by it alone, so a data
    // connection reaches the worker that holds its control connection.
    const [lo, hi] = passiveSlice(...parsePortRange(core.config.ftps.passivePorts)!, workerSlot());
    this.passivePorts = new PassivePorts(lo, hi);
    if (!ticketRenewalAvailable && core.config.ftps.dataTlsSessionReuse === 'required') {
      core.logger.warn('this Node.js has no TLS ticket-key callback: TLS 1.3 clients that use a ticket once (curl with OpenSSL) cannot resume a second data connection and get 522; see docs/ftps.md');
    }
  }

  private accept(implicit: boolean) {
    return (socket: import('node:net').Socket, ctx: import('../../net/connection.ts').ConnectionContext): void => {
      const conn = new FtpConnection(socket, ctx, { core: this.core, tlsIdentity: () => this.tls, passivePorts: this.passivePorts });
      this.connections.add(conn);
      socket.once('close', () => this.connections.delete(conn));
      if (implicit) void conn.startImplicit();
      else conn.startExplicit();
    };
  }

  async start(): Promise<BoundListener[]> {
    const { ftps } = this.core.config;
    const bound: BoundListener[] = [];
    const explicit = await listen({ name: 'ftps', protocol: 'ftps', address: ftps.address, port: ftps.port, admission: this.core.admission, trustedProxies: this.core.config.proxy.trustedAddresses, onConnection: this.accept(false) });
    this.listening.push(explicit);
    bound.push({ name: 'ftps (explicit)', scheme: 'ftp', address: explicit.address, port: explicit.port });
    if (ftps.implicitPort !== null) {
      const implicit = await listen({ name: 'ftps-implicit', protocol: 'ftps', address: ftps.address, port: ftps.implicitPort, admission: this.core.admission, trustedProxies: this.core.config.proxy.trustedAddresses, onConnection: this.accept(true) });
      this.listening.push(implicit);
      bound.push({ name: 'ftps (implicit)', scheme: 'ftps', address: implicit.address, port: implicit.port });
    }
    return bound;
  }

  reloadTls(tls: TlsIdentity): void {
    this.tls = tls; // new control connections use it; open ones keep their own context
  }

  listeningSockets(): Listening[] {
    return [...this.listening];
  }

  stopAccepting(): void {
    for (const l of this.listening) void l.close();
  }

  async stop(): Promise<void> {
    const closing = this.listening.map((l) => l.close());
    for (const c of this.connections) c.destroy();
    await Promise.all(closing);
  }
}

export const createFtpsAdapter: AdapterFactory = (core) => (core.config.ftps.enabled ? new FtpsAdapter(core) : null);
