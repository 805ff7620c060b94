// PROXY protocol in front of a Node HTTP(S) server (the admin API and the portal): the header of a
// trusted balancer is read before the server's own connection handlers run.
import type { Server, Socket } from 'node:net';
import type { Core } from '../app.ts';
import { normaliseAddress } from './connection.ts';
import { balancerMatcher, readProxyHeader } from './listener.ts';

/**
 * PROXY protocol on the HTTP listeners, admin and portal (proxy.trustedAddresses, as on the SFTP and FTPS ones):
 * the server's own connection handlers (HTTP or TLS, and the listener's admission hook) run only once
 * a trusted balancer's header is read, with the client it names as the socket's address, so
 * that bans, token `--from` and the audit see the client. (An HTTP balancer can instead send
 * X-Forwarded-For from admin.trustedProxies or portal.trustedProxies.)
 */
export function acceptProxyProtocol(core: Pick<Core, 'config' | 'audit'>, server: Server, tls: boolean, protocol: 'admin' | 'portal'): void {
  const fromBalancer = balancerMatcher(core.config.proxy.trustedAddresses);
  const handlers = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeAllListeners('connection');
  const carried = new WeakMap<Socket, { address: string; port: number }>();
  const pretend = (socket: Socket, peer: { address: string; port: number }) => {
    Object.defineProperty(socket, 'remoteAddress', { value: peer.address, configurable: true });
    Object.defineProperty(socket, 'remotePort', { value: peer.port, configurable: true });
  };
  server.on('connection', (socket: Socket) => {
    const run = () => {
      for (const h of handlers) h.call(server, socket);
    };
    if (!fromBalancer(socket)) return run();
    readProxyHeader(
      socket,
      (peer) => {
        if (peer) {
          carried.set(socket, peer);
          pretend(socket, peer);
        }
        run();
        // plain HTTP: the request bytes after the header wait in the paused socket; node's HTTP
        // parser reads them once it flows (TLS resumes it itself)
        if (!tls) socket.resume();
      },
      (reason) => {
        socket.destroy();
        core.audit.emit({ type: 'conn.refused', protocol, remoteAddress: normaliseAddress(socket.remoteAddress ?? '?'), code: 'ERR_ADMISSION_PROXY_HEADER', rule: `proxy-header: ${reason}` });
      },
    );
  });
  // HTTPS: requests arrive on the TLS socket made over the raw one; it names the client too.
  if (tls) {
    server.prependListener('secureConnection', (tlsSocket: Socket) => {
      const peer = carried.get((tlsSocket as unknown as { _parent?: Socket })._parent as Socket);
      if (peer) pretend(tlsSocket, peer);
    });
  }
}
