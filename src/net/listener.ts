// A TCP listener whose every accepted socket passes admission before the adapter sees it.
// TLS (implicit FTPS) is layered by the adapter after admission, so refused peers cost no
// handshake.
import net from 'node:net';
import type { Protocol } from '../audit/events.ts';
import type { Admission } from './admission.ts';
import type { ConnectionContext } from './connection.ts';
import { takeInheritedFd } from './inherited-listeners.ts';
import { LIMITS } from '../config/limits.ts';
import { parseCidr } from '../policy/ip-matcher.ts';
import { normaliseAddress } from './connection.ts';
import { parseProxyHeader } from './proxy-protocol.ts';

export interface Listening {
  /** The listener's name for socket hand-over and activation: `sftp`, `ftps`, `ftps-implicit`. */
  name: string;
  server: net.Server;
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(options: {
  name: string;
  protocol: Protocol;
  address: string;
  port: number;
  admission: Admission;
  onConnection: (socket: net.Socket, ctx: ConnectionContext) => void;
  /** Balancers (CIDRs, proxy.trustedAddresses) that must send a PROXY protocol header. */
  trustedProxies?: readonly string[];
}): Promise<Listening> {
  const fromBalancer = balancerMatcher(options.trustedProxies ?? []);
  const admit = (socket: net.Socket, peer?: { address: string; port: number }) =>
    void options.admission.admit(socket, options.protocol, peer).then((ctx) => {
      if (!ctx) return;
      options.onConnection(socket, ctx);
      socket.resume();
    }, () => socket.destroy());
  const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    socket.on('error', () => undefined); // errors end in 'close'; admission and adapters clean up there
    // SECURITY: only a trusted balancer's header is read, and it is read before admission: the
    // client it names is the one every rule, cap and score applies to. Anyone else's first bytes
    // are the protocol's, so a forged header from a client is just a malformed greeting.
    if (fromBalancer(socket)) readProxyHeader(socket, (peer) => admit(socket, peer), (reason) => options.admission.refuseUnread(socket, options.protocol, 'ERR_ADMISSION_PROXY_HEADER', `proxy-header: ${reason}`));
    // The socket stays paused (pauseOnConnect) until admission has decided: no byte is read
    // from a peer that is refused.
    else admit(socket);
  });
  let closing: Promise<void> | undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A socket handed over by the previous process or by systemd, else our own.
    const fd = takeInheritedFd(options.name);
    server.listen(fd === undefined ? { host: options.address, port: options.port } : { fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return {
    name: options.name,
    server,
    address: bound.address,
    port: bound.port,
    // Idempotent: the first call stops accepting; the promise settles when every connection is gone.
    close: () => (closing ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

/** Whether a socket's peer is a balancer of proxy.trustedAddresses (so must send a header). */
export function balancerMatcher(cidrs: readonly string[]): (socket: net.Socket) => boolean {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const { address, prefix, family } = parseCidr(c);
    list.addSubnet(address, prefix, family);
  }
  return (socket) => {
    if (cidrs.length === 0) return false;
    const peer = normaliseAddress(socket.remoteAddress ?? '');
    return net.isIP(peer) !== 0 && list.check(peer, net.isIPv6(peer) ? 'ipv6' : 'ipv4');
  };
}

/**
 * Reads a trusted balancer's PROXY header (bounded in bytes by the parser and in time by
 * LIMITS.proxyHeaderTimeoutMs), puts back whatever client bytes came with it, pauses the socket
 * again, and hands it to admission as the client it names; a LOCAL/UNKNOWN header (the
 * balancer's own health check) keeps the balancer's address. Anything else is refused, audited
 * (ERR_ADMISSION_PROXY_HEADER, with the reason) and scores nothing: the balancer is not the attacker.
 */
export function readProxyHeader(socket: net.Socket, proceed: (peer: { address: string; port: number } | undefined) => void, refused: (reason: string) => void): void {
  let received = Buffer.alloc(0);
  const refuse = (reason: string) => {
    clearTimeout(timer);
    socket.off('data', onData);
    refused(reason);
  };
  const timer = setTimeout(() => refuse(`no complete header within ${LIMITS.proxyHeaderTimeoutMs} ms`), LIMITS.proxyHeaderTimeoutMs);
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const h = parseProxyHeader(received);
    if (h.kind === 'incomplete') return;
    if (h.kind === 'invalid') return refuse(h.reason);
    clearTimeout(timer);
    socket.off('data', onData);
    socket.pause();
    const rest = received.subarray(h.length);
    if (rest.length > 0) socket.unshift(rest);
    proceed(h.source ?? undefined);
  };
  socket.on('data', onData);
  socket.on('close', () => clearTimeout(timer));
  socket.resume();
}
