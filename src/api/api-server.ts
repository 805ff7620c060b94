// The REST API listener (docs/api.md): its own address and port, HTTPS with the server's
// certificate (plain HTTP only on loopback), and per request, in this order:
//   admission: the connection rate per new connection; deny/allow rules for `admin` and bans
//   per request, on the client address
//   → strict JSON body (application/json only, size-capped, no duplicate keys, no decompression)
//   → the one token verifier (failures audited and scored by the defender)
//   → the route's scope → zod validation of params, query and body → one admin service call
//   → the response checked against its schema (nothing the schema does not name leaves).
// The client address is the socket's; X-Forwarded-For counts only from admin.trustedProxies.
import helmet from '@fastify/helmet';
import type { FastifyError, FastifyListenOptions, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Core } from '../app.ts';
import type { AdminServices } from '../admin/services.ts';
import type { TokenPrincipal } from '../admin/token-service.ts';
import { verifyCredential } from '../admin/verifier.ts';
import { LIMITS } from '../config/limits.ts';
import { ERROR_CATALOGUE, type ErrorCode, PortcullisError } from '../errors/index.ts';
import type { TlsIdentity } from '../identity/identity.ts';
import { createAdmittedHttp } from '../net/http-listener.ts';
import { FASTIFY_ERRORS, HTTP_STATUS_FOR } from './errors.ts';
import { buildOpenApi } from './openapi.ts';
import { fastifyPath, ROUTES, type Route } from './routes.ts';
import { parseStrictJson } from './strict-json.ts';
import { registerAdminWeb } from '../web/admin-web.ts';
import { sendError as sendWebError } from '../web/web-plane.ts';
import { WebSessions } from '../web/web-sessions.ts';
import { SetupToken } from '../web/admin-setup.ts';

export interface ApiServer {
  /** Every method and path registered (the contract test compares them with the OpenAPI document). */
  routes: { method: string; path: string }[];
  address: string;
  port: number;
  url: string;
  reloadTls(tls: TlsIdentity): void;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TokenPrincipal;
  }
  interface FastifyContextConfig {
    route?: Route;
  }
}

function sendError(reply: FastifyReply, code: ErrorCode, detail?: string): FastifyReply {
  const status = HTTP_STATUS_FOR[code] ?? 500;
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  // SECURITY: messages are the catalogue's plus our own detail, never a stack; a 5xx says nothing more
  return reply.code(status).send({ error: { code: status === 500 ? 'ERR_INTERNAL' : code, message: detail && status < 500 ? `${ERROR_CATALOGUE[code]}: ${detail}` : ERROR_CATALOGUE[status === 500 ? 'ERR_INTERNAL' : code] } });
}

/** The detail of one of our errors (what the thrower wrote besides the catalogue text). */
function detailOf(err: PortcullisError): string | undefined {
  return err.detail?.slice(0, 300);
}

/** A zod failure as one line naming the fields, never echoing the values. */
function describeIssues(where: string, err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${where}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`)
    .join('; ')
    .slice(0, 500);
}

function parsePart<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) {
    // SECURITY: a route without a body/query schema takes none (no silently ignored input)
    const empty = value === undefined || value === null || (typeof value === 'object' && Object.keys(value).length === 0);
    if (!empty) throw new PortcullisError('ERR_API_BAD_REQUEST', `${where}: this route takes none`);
    return undefined as T;
  }
  const r = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (!r.success) throw new PortcullisError('ERR_API_BAD_REQUEST', describeIssues(where, r.error));
  return r.data;
}

/** Paths of the web admin (and its assets): everything but the REST API and its document. */
function isWebPath(url: string): boolean {
  return url === '/' || url.startsWith('/ui/') || url.startsWith('/ui?') || url === '/ui' || url.startsWith('/assets/');
}

function webError(core: Core, err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof PortcullisError && err.code !== 'ERR_INTERNAL') return sendWebError(reply, 400, err.code, err.detail?.slice(0, 300));
  if (err.statusCode === 413) return sendWebError(reply, 413, 'ERR_WEB_BAD_FORM', 'the form is too large');
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendWebError(reply, 415, 'ERR_WEB_BAD_FORM', 'send the form as application/x-www-form-urlencoded');
  if (typeof err.statusCode === 'number' && err.statusCode < 500) return sendWebError(reply, err.statusCode, 'ERR_WEB_BAD_FORM');
  core.logger.error({ err, url: req.url.split('?')[0]!.slice(0, 200) }, 'web admin: unexpected error');
  return sendWebError(reply, 500, 'ERR_INTERNAL');
}

export async function startApiServer(core: Core, services: AdminServices, options: { portalPort?: number | undefined } = {}): Promise<ApiServer> {
  const { admin } = core.config;
  const web = admin.web;
  const { app, clientAddress, admitted } = createAdmittedHttp(core, { protocol: 'admin', tls: admin.tls, trustedProxies: admin.trustedProxies, bodyLimit: LIMITS.apiMaxBodyBytes });

  await app.register(helmet, { contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } });

  const routes: { method: string; path: string }[] = [];
  app.addHook('onRoute', (r) => {
    // (the web admin's pages are not REST routes: docs/web.md lists them)
    if (isWebPath(r.url)) return;
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, path: r.url.replace(/:(\w+)/g, '{$1}') });
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseStrictJson(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // 1. admission, then 2. the token, for every request (unknown routes included: no route
  //    discovery without a token).
  app.addHook('onRequest', async (req, reply) => {
    // SECURITY: wait for the connection's admission (rate, bans) before answering anything
    if (!(await admitted(req))) return reply.hijack();
    const address = clientAddress(req);
    const refused = await core.access.addressRule({ address, protocol: 'admin' });
    if (refused) {
      core.audit.emit({ type: 'conn.refused', protocol: 'admin', remoteAddress: address, code: refused.code, rule: refused.rule });
      return sendError(reply, refused.code);
    }
    const encoding = req.headers['content-encoding'];
    // SECURITY: no request-body decompression (zip bombs); identity only
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return sendError(reply, 'ERR_API_UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding is not accepted');
    // The web admin's pages check their browser session themselves (web/web-plane.ts); a cookie
    // never authenticates a REST route and a token never a page.
    if (web && isWebPath(req.url)) return undefined;
    const header = req.headers.authorization;
    if (header === undefined) return sendError(reply, 'ERR_API_UNAUTHENTICATED', 'send Authorization: Bearer <token>');
    const m = /^Bearer ([\x21-\x7e]{1,400})$/.exec(header);
    if (Buffer.byteLength(header) > LIMITS.apiMaxAuthHeaderBytes || !m) {
      // a credential was presented: verified (and scored) like any other
      await verifyCredential({ kind: 'api-token', token: header.slice(0, 200) }, address, { tokens: services.tokens });
      return sendError(reply, 'ERR_API_UNAUTHENTICATED');
    }
    // SECURITY: the one verifier of the management planes (admin/verifier.ts), as for browser sessions
    const verified = await verifyCredential({ kind: 'api-token', token: m[1]! }, address, { tokens: services.tokens });
    if (!verified.ok || verified.kind !== 'api-token') return sendError(reply, 'ERR_API_UNAUTHENTICATED');
    req.principal = verified.principal;
    return undefined;
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (web && isWebPath(req.url)) return webError(core, err, req, reply);
    if (err instanceof PortcullisError) {
      if ((HTTP_STATUS_FOR[err.code] ?? 500) >= 500) core.logger.error({ err, url: req.url.slice(0, 200) }, 'REST API: request failed');
      return sendError(reply, err.code, detailOf(err));
    }
    const mapped = typeof err.code === 'string' ? FASTIFY_ERRORS[err.code] : undefined;
    if (mapped) return sendError(reply, mapped);
    if (err.statusCode === 413) return sendError(reply, 'ERR_API_BODY_TOO_LARGE');
    core.logger.error({ err, url: req.url.slice(0, 200) }, 'REST API: unexpected error');
    return sendError(reply, 'ERR_INTERNAL');
  });
  app.setNotFoundHandler((_req, reply) => sendError(reply, 'ERR_API_NOT_FOUND'));

  if (web) {
    const sessions = new WebSessions(core.store, core.audit);
    // No default admin: with none in the store, a one-time setup token on stderr (web/admin-setup.ts)
    const setup = await SetupToken.open(services.admins, (token) => {
      process.stderr.write(`portcullis: no admin account exists. Create the first one with \`portcullis admin account create NAME --password-stdin\`, or open /ui/setup on the admin listener with this one-time setup token:\n  ${token}\n`);
      core.logger.warn('no admin account exists: a one-time setup token for /ui/setup was printed on standard error');
    });
    await app.register(async (scope) => {
      registerAdminWeb(scope, { services, sessions, audit: core.audit, store: core.store, config: core.config, clientAddress, certificate: () => core.identity.tls, portalPort: options.portalPort, setup });
    });
    const sweep = setInterval(() => void sessions.sweep().catch((err: unknown) => core.logger.warn({ err }, 'web sessions: sweep failed')), LIMITS.web.sweepMs);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));
  }

  for (const route of ROUTES) {
    app.route({
      method: route.method,
      url: fastifyPath(route.path),
      config: { route },
      handler: async (req, reply) => {
        const principal = req.principal!;
        // SECURITY: every route names its scope; a token without it gets 403 before any input is read
        if (route.scope !== null && !principal.scopes.has(route.scope)) return sendError(reply, 'ERR_API_FORBIDDEN', `needs ${route.scope}`);
        const ctx = {
          params: parsePart(route.params, req.params, 'params'),
          query: parsePart(route.query, req.query, 'query'),
          body: parsePart(route.body, req.body, 'body'),
          actor: principal.actor,
          services,
        };
        const result = await route.handler(ctx as never);
        if (route.status === 204) return reply.code(204).send();
        if (route.produces === 'text/plain') {
          if (typeof result !== 'string') throw new PortcullisError('ERR_INTERNAL', 'a text route returned no text');
          return reply.code(route.status).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(result);
        }
        // SECURITY: the response is what its schema names, nothing more (strict: extra fields are a bug)
        const out = route.response ? route.response.parse(result) : result;
        return reply.code(route.status).header('cache-control', 'no-store').send(out);
      },
    });
  }
  const openapi = buildOpenApi();
  app.get('/openapi.json', (_req, reply) => reply.header('cache-control', 'no-store').send(openapi));

  // SECURITY: SO_REUSEPORT lets a successor bind the port during a hand-over (SIGUSR2); Linux
  // shares a port only between sockets of the same user, so no other account can join.
  // (fastify hands its listen options to net.Server#listen as they are; its types lack the key.)
  await app.listen({ host: admin.address, port: admin.port, reusePort: true } as FastifyListenOptions);
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : admin.port;
  const host = admin.address.includes(':') ? `[${admin.address}]` : admin.address;
  return {
    routes,
    address: admin.address,
    port,
    url: `${admin.tls ? 'https' : 'http'}://${host}:${port}`,
    reloadTls(tls) {
      if (!admin.tls) return;
      (app.server as unknown as { setSecureContext(o: { cert: Buffer; key: Buffer }): void }).setSecureContext({ cert: tls.cert, key: tls.key });
    },
    close: () => app.close(),
  };
}
