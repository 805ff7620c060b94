// The REST API as one table: method, path, the scope it needs, its schemas and a handler that
// only translates into an admin service call. server.ts registers the rows, checks the scope
// and validates with the schemas before a handler runs; openapi.ts describes the same rows.
import type { z } from 'zod';
import type { Actor } from '../admin/actor.ts';
import type { AdminServices } from '../admin/services.ts';
import type { Scope } from '../admin/token-service.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import * as s from './schemas.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HandlerContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  actor: Actor;
  services: AdminServices;
}

export interface Route {
  method: Method;
  /** OpenAPI form: /v1/users/{name}. */
  path: string;
  /** null: any valid token (health, the API description). */
  scope: Scope | null;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Success status; 204 has no body. */
  status: 200 | 201 | 202 | 204;
  /** The success body's media type: JSON (default, checked against `response`) or text the handler returns as a string. */
  produces?: 'application/json' | 'text/plain';
  response?: z.ZodType;
  /** Error codes this route may answer with besides the common ones (documentation). */
  errors?: readonly number[];
  handler(ctx: HandlerContext<never, never, never>): Promise<unknown>;
}

function route<P extends z.ZodType = z.ZodNever, Q extends z.ZodType = z.ZodNever, B extends z.ZodType = z.ZodNever>(
  r: Omit<Route, 'handler' | 'params' | 'query' | 'body'> & { params?: P; query?: Q; body?: B; handler(ctx: HandlerContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown> },
): Route {
  return r;
}

/** Cursor pagination over a list sorted by `key`: the cursor is the last key seen (opaque). */
export function paginate<T>(items: T[], key: (t: T) => string, q: { limit?: number | undefined; cursor?: string | undefined }): { items: T[]; next: string | null } {
  const limit = q.limit ?? LIMITS.apiPageSize.default;
  let after: string | null = null;
  if (q.cursor !== undefined) {
    after = Buffer.from(q.cursor, 'base64url').toString('utf8');
    if (Buffer.from(after, 'utf8').toString('base64url') !== q.cursor) throw new PortcullisError('ERR_API_BAD_REQUEST', 'cursor: not a cursor from this API');
  }
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const rest = after === null ? sorted : sorted.filter((t) => key(t) > after);
  const pageItems = rest.slice(0, limit);
  return { items: pageItems, next: rest.length > limit ? Buffer.from(key(pageItems.at(-1)!), 'utf8').toString('base64url') : null };
}

export const ROUTES: readonly Route[] = [
  route({ method: 'GET', path: '/v1/health', scope: null, tag: 'health', summary: 'The API answers (any valid token)', status: 200, response: s.healthView, handler: () => Promise.resolve({ status: 'ok' as const }) }),

  // --- users ---
  route({
    method: 'GET', path: '/v1/users', scope: 'users:read', tag: 'users', summary: 'List users (sorted by name)', query: s.pageQuery, status: 200, response: s.page(s.userView, 'UserPage'),
    handler: async ({ services, query }) => paginate(await services.users.list(), (u) => u.name, query),
  }),
  route({
    method: 'POST', path: '/v1/users', scope: 'users:write', tag: 'users', summary: 'Create a user (409 if the name exists)', body: s.createUserBody, status: 201, response: s.userView, errors: [409],
    handler: ({ services, actor, body: { name, ...rest } }) => services.users.create(actor, name, rest),
  }),
  route({
    method: 'GET', path: '/v1/users/{name}', scope: 'users:read', tag: 'users', summary: 'Read a user', params: s.params.user, status: 200, response: s.userView, errors: [404],
    handler: ({ services, params }) => services.users.get(params.name),
  }),
  route({
    method: 'PATCH', path: '/v1/users/{name}', scope: 'users:write', tag: 'users', summary: 'Change a user: home, permissions, read-only, disabled, address rules, hours, session cap, MFA requirement', params: s.params.user, body: s.updateUserBody, status: 200, response: s.userView, errors: [404],
    handler: ({ services, actor, params, body }) => services.users.update(actor, params.name, body),
  }),
  route({
    method: 'DELETE', path: '/v1/users/{name}', scope: 'users:write', tag: 'users', summary: 'Delete a user (their files stay on disk)', params: s.params.user, status: 204, errors: [404],
    handler: ({ services, actor, params }) => services.users.remove(actor, params.name),
  }),
  route({
    method: 'PUT', path: '/v1/users/{name}/password', scope: 'users:write', tag: 'users', summary: "Set a user's password", params: s.params.user, body: s.passwordBody, status: 204, errors: [404],
    handler: ({ services, actor, params, body }) => services.users.setPassword(actor, params.name, body.password),
  }),
  route({
    method: 'GET', path: '/v1/users/{name}/keys', scope: 'users:read', tag: 'users', summary: "A user's SSH public keys", params: s.params.user, query: s.pageQuery, status: 200, response: s.page(s.keyView, 'PublicKeyPage'), errors: [404],
    handler: async ({ services, params, query }) => paginate(await services.users.listKeys(params.name), (k) => k.fingerprint, query),
  }),
  route({
    method: 'POST', path: '/v1/users/{name}/keys', scope: 'users:write', tag: 'users', summary: 'Add an SSH public key (409 if present)', params: s.params.user, body: s.addKeyBody, status: 201, response: s.keyView, errors: [404, 409],
    handler: ({ services, actor, params, body }) => services.users.addKey(actor, params.name, body.publicKey),
  }),
  route({
    method: 'DELETE', path: '/v1/users/{name}/keys/{fingerprint}', scope: 'users:write', tag: 'users', summary: 'Remove an SSH public key by its SHA256 fingerprint (URL-encoded)', params: s.params.userKey, status: 204, errors: [404],
    handler: async ({ services, actor, params }) => {
      // SECURITY: a fingerprint, never the 1-based position the CLI also accepts (a stale list must not remove another key)
      if (!params.fingerprint.startsWith('SHA256:')) throw new PortcullisError('ERR_KEY_NOT_FOUND', 'give the fingerprint as listed (SHA256:…)');
      await services.users.removeKey(actor, params.name, params.fingerprint);
    },
  }),
  route({
    method: 'GET', path: '/v1/users/{name}/certificates', scope: 'users:read', tag: 'users', summary: 'TLS client certificates pinned to a user (FTPS)', params: s.params.user, query: s.pageQuery, status: 200, response: s.page(s.certView, 'CertificatePinPage'), errors: [404],
    handler: async ({ services, params, query }) => paginate((await services.users.listCertPins(params.name)).map((fingerprint) => ({ fingerprint })), (c) => c.fingerprint, query),
  }),
  route({
    method: 'POST', path: '/v1/users/{name}/certificates', scope: 'users:write', tag: 'users', summary: 'Pin a client certificate by its SHA-256 fingerprint (409 if pinned)', params: s.params.user, body: s.certBody, status: 201, response: s.certView, errors: [404, 409],
    handler: async ({ services, actor, params, body }) => ({ fingerprint: await services.users.addCertPin(actor, params.name, body.fingerprint) }),
  }),
  route({
    method: 'DELETE', path: '/v1/users/{name}/certificates/{fingerprint}', scope: 'users:write', tag: 'users', summary: 'Unpin a client certificate', params: s.params.userCert, status: 204, errors: [404],
    handler: async ({ services, actor, params }) => {
      await services.users.removeCertPin(actor, params.name, params.fingerprint);
    },
  }),

  // --- MFA ---
  route({
    method: 'GET', path: '/v1/users/{name}/mfa', scope: 'users:read', tag: 'users', summary: "A user's second factor: required, state, recovery codes left, lockout", params: s.params.user, status: 200, response: s.mfaStatusView, errors: [404],
    handler: ({ services, params }) => services.mfa.status(params.name),
  }),
  route({
    method: 'DELETE', path: '/v1/users/{name}/mfa', scope: 'users:write', tag: 'users', summary: 'Reset MFA: remove the TOTP secret and recovery codes, lift a code lockout (the user enrols again)', params: s.params.user, status: 200, response: s.mfaStatusView, errors: [404],
    handler: ({ services, actor, params }) => services.mfa.reset(actor, params.name),
  }),
  route({
    method: 'POST', path: '/v1/users/{name}/mfa/recovery-codes', scope: 'users:write', tag: 'users', summary: 'Replace the recovery codes (returned once; the old ones stop working)', params: s.params.user, status: 201, response: s.recoveryCodesView, errors: [404],
    handler: async ({ services, actor, params }) => ({ recoveryCodes: await services.mfa.regenerateRecoveryCodes(actor, params.name) }),
  }),

  // --- global rules ---
  route({
    method: 'GET', path: '/v1/rules/{kind}', scope: 'rules:read', tag: 'rules', summary: 'The global allow or deny list (config file and store)', params: s.params.ruleKind, query: s.pageQuery, status: 200, response: s.page(s.ruleView, 'RulePage'),
    handler: async ({ services, params, query }) => paginate(await services.policy.listRules(params.kind), (r) => `${r.source} ${r.cidr} ${r.protocols.join(',')}`, query),
  }),
  route({
    method: 'POST', path: '/v1/rules/{kind}', scope: 'rules:write', tag: 'rules', summary: 'Add a rule (409 if present)', params: s.params.ruleKind, body: s.addRuleBody, status: 201, response: s.ruleView, errors: [409],
    handler: ({ services, actor, params, body }) => services.policy.addRule(actor, params.kind, body.cidr, body.protocols ?? [], body.comment ?? ''),
  }),
  route({
    method: 'DELETE', path: '/v1/rules/{kind}', scope: 'rules:write', tag: 'rules', summary: 'Remove the store rules for ?cidr= (rules from the config file stay)', params: s.params.ruleKind, query: s.ruleQuery, status: 204, errors: [404],
    handler: async ({ services, actor, params, query }) => {
      await services.policy.removeRule(actor, params.kind, query.cidr);
    },
  }),

  // --- bans ---
  route({
    method: 'GET', path: '/v1/bans', scope: 'bans:read', tag: 'bans', summary: 'Active bans', query: s.pageQuery, status: 200, response: s.page(s.banView, 'BanPage'),
    handler: async ({ services, query }) => paginate(await services.policy.listBans(), (b) => b.address, query),
  }),
  route({
    method: 'POST', path: '/v1/bans', scope: 'bans:write', tag: 'bans', summary: 'Ban an address now (refused at once by this server, within access.refreshSeconds by others)', body: s.addBanBody, status: 201, response: s.banView,
    handler: ({ services, actor, body }) => services.policy.addBan(actor, body.address, { minutes: body.minutes, reason: body.reason }),
  }),
  route({
    method: 'GET', path: '/v1/bans/export', scope: 'bans:read', tag: 'bans', summary: 'The active bans as an nftables script for the host firewall (`nft -f`), as `portcullis ban export` prints it', query: s.banExportQuery, status: 200, produces: 'text/plain',
    handler: ({ services, query }) => services.policy.exportBans(query.format),
  }),
  route({
    method: 'DELETE', path: '/v1/bans/{address}', scope: 'bans:write', tag: 'bans', summary: 'Lift the ban on an address', params: s.params.ban, status: 204, errors: [404],
    handler: async ({ services, actor, params }) => {
      await services.policy.liftBan(actor, params.address);
    },
  }),

  // --- live sessions ---
  route({
    method: 'GET', path: '/v1/sessions', scope: 'sessions:read', tag: 'sessions', summary: 'Live connections: user, address, protocol, transfer in progress', query: s.pageQuery, status: 200, response: s.page(s.sessionView, 'SessionPage'),
    handler: async ({ services, query }) => paginate(await services.sessions.list(), (x) => x.id, query),
  }),
  route({
    method: 'DELETE', path: '/v1/sessions/{id}', scope: 'sessions:write', tag: 'sessions', summary: 'End a live connection (audited as session.killed)', params: s.params.session, status: 200, response: s.sessionView, errors: [404],
    handler: ({ services, actor, params }) => services.sessions.kill(actor, params.id),
  }),

  // --- scans (the scanner against this server's listeners and scans.targets) ---
  route({
    method: 'GET', path: '/v1/scans', scope: 'scans:read', tag: 'scans', summary: 'Stored scan results, newest first, one row per run and target (scheduled scans, posture runs, scans started here); as `portcullis scan history`', query: s.scanHistoryQuery, status: 200, response: s.page(s.scanHistoryRow, 'ScanHistoryPage'),
    handler: ({ services, query }) => services.scans.page(query.target, query.limit ?? LIMITS.apiPageSize.default, query.cursor),
  }),
  route({
    method: 'POST', path: '/v1/scans', scope: 'scans:write', tag: 'scans', summary: "Start a scan of this server's listeners (default) or of one target named in scans.targets; it runs in the background: poll GET /v1/scans/{id} (409 while another runs)", body: s.startScanBody, status: 202, response: s.scanStartedView, errors: [409],
    handler: ({ services, actor, body }) => services.scans.start(actor, body.target),
  }),
  route({
    method: 'GET', path: '/v1/scans/{id}', scope: 'scans:read', tag: 'scans', summary: 'One run: its status (running, completed, failed, interrupted) and, once finished, the report of every target', params: s.params.scanRun, status: 200, response: s.scanRunView, errors: [404],
    handler: ({ services, params }) => services.scans.get(params.id),
  }),
  route({
    method: 'GET', path: '/v1/scans/{a}/diff/{b}', scope: 'scans:read', tag: 'scans', summary: 'What changed from run a to run b, per target: new, resolved and unchanged findings; as `portcullis scan diff`', params: s.params.scanDiff, status: 200, response: s.scanDiffView, errors: [404, 409],
    handler: ({ services, params }) => services.scans.diff(params.a, params.b),
  }),

  // --- audit, posture, configuration ---
  route({
    method: 'GET', path: '/v1/audit', scope: 'audit:read', tag: 'audit', summary: 'Search the audit records kept in the store, newest first', query: s.auditQuery, status: 200, response: s.page(s.auditRecord, 'AuditPage'),
    handler: ({ services, query: { limit, cursor, ...filter } }) => services.audit.page(filter, limit ?? LIMITS.apiPageSize.default, cursor),
  }),
  route({
    method: 'POST', path: '/v1/audit/verify', scope: 'audit:read', tag: 'audit', summary: 'Verify the hash chain of the audit files and the store (ok: false names the first break)', status: 200, response: s.auditVerifyView,
    handler: ({ services }) => services.audit.verify(),
  }),
  route({
    method: 'GET', path: '/v1/posture', scope: 'posture:read', tag: 'posture', summary: "The running server's configuration checks, scored by layer (the active scan: `portcullis posture` on the host)", status: 200, response: s.postureView,
    handler: ({ services }) => services.posture.configurationChecks(),
  }),
  route({
    method: 'GET', path: '/v1/config', scope: 'config:read', tag: 'config', summary: 'The effective configuration, secrets redacted', status: 200, response: s.configView,
    handler: ({ services }) => Promise.resolve(services.posture.effectiveConfig()),
  }),
];

/** /v1/users/{name} → /v1/users/:name (fastify's form). */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}
