// One HTTP(S) listener of the management planes (the admin API and web admin, the portal), set up
// the same way: fastify with bounded bodies and times, TLS with the server's certificate (plain
// HTTP only where the configuration allowed it: loopback), PROXY protocol from the configured
// balancers, X-Forwarded-For only from the plane's trusted proxies, and admission per new
// connection (connection rate and caps) before its first request is answered. Bans and
// deny/allow rules are answered per request by the plane (403 with the code).
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Core } from '../app.ts';
import { LIMITS } from '../config/limits.ts';
import { IpMatcher } from '../policy/ip-matcher.ts';
import { normaliseAddress } from './connection.ts';
import { acceptProxyProtocol } from './http-proxy-protocol.ts';

export interface AdmittedHttp {
  app: FastifyInstance;
  /** The client: the socket's address, or X-Forwarded-For from a trusted proxy. */
  clientAddress: (req: FastifyRequest) => string;
  /** Resolves false when the connection was refused at admission (it is being closed). */
  admitted: (req: FastifyRequest) => Promise<boolean>;
}

export function createAdmittedHttp(core: Core, o: { protocol: 'admin' | 'portal'; tls: boolean; trustedProxies: readonly string[]; bodyLimit: number }): AdmittedHttp {
  const proxies = new IpMatcher(o.trustedProxies.map((cidr) => ({ cidr, source: `${o.protocol}.trustedProxies` })));
  const common = {
    bodyLimit: o.bodyLimit,
    // SECURITY: X-Forwarded-For is believed only hop by hop from configured proxies
    trustProxy: (address: string) => proxies.match(normaliseAddress(address), o.protocol) !== null,
    logger: false,
    requestTimeout: LIMITS.apiRequestTimeoutMs,
    connectionTimeout: LIMITS.apiRequestTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 200 },
  };
  const app = (
    o.tls ? Fastify({ ...common, https: { cert: core.identity.tls.cert, key: core.identity.tls.key, minVersion: 'TLSv1.2' as const } }) : Fastify(common)
  ) as unknown as FastifyInstance;
  app.server.maxConnections = LIMITS.apiMaxConnections;
  // New connections pay the connection rate (rateLimits.connectionsPerSecond) like every other
  // listener's; a refused one is closed before its first request is answered.
  const admitted = new WeakMap<object, Promise<boolean>>();
  // (HTTPS: the TLS socket the requests arrive on; plain HTTP: the TCP socket)
  app.server.on(o.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    const address = normaliseAddress(socket.remoteAddress ?? '');
    if (proxies.match(address, o.protocol) !== null) return; // a proxy's connections carry many clients
    // banned and denied addresses are answered per request (403 with the code), not here
    if (core.access.addressRule({ address, protocol: o.protocol })) return;
    admitted.set(
      socket,
      Promise.resolve(core.access.admissionRule({ address, protocol: o.protocol })).then((refused) => {
        if (!refused) return true;
        core.audit.emit({ type: 'conn.refused', protocol: o.protocol, remoteAddress: address, code: refused.code, rule: refused.rule });
        socket.destroy();
        return false;
      }),
    );
  });
  acceptProxyProtocol(core, app.server, o.tls, o.protocol);
  return {
    app,
    clientAddress: (req) => normaliseAddress(req.ip),
    admitted: async (req) => (await admitted.get(req.raw.socket)) !== false,
  };
}
