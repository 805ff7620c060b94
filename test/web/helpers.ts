// Fixtures for the web admin and portal: a server with both planes on loopback (plain HTTP, which
// only loopback allows), admin accounts made through the service the CLI uses, and a small HTTP
// client that keeps one cookie and can send from a chosen source address.
import http from 'node:http';
import type { TestContext } from 'node:test';
import { AdminAccountService } from '../../src/admin/admin-account-service.ts';
import { cliActor } from '../../src/admin/actor.ts';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { SecretBox } from '../../src/auth/mfa/secret-box.ts';
import type { AuditRecord } from '../../src/audit/events.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../monitoring/helpers.ts';

export const ADMIN_PASSWORD = 'admin-password-long-enough';

export interface WebFixture {
  srv: TestServer;
  adminUrl: string;
  portalUrl: string;
  admins: AdminAccountService;
  /** Creates an admin; returns its TOTP secret. */
  createAdmin(name: string, role?: 'full' | 'auditor'): Promise<string>;
}

export async function startWebServer(t: TestContext, config: Parameters<typeof startTestServer>[1] = {}): Promise<WebFixture> {
  const srv = await startTestServer(t, {
    ...config,
    admin: { enabled: true, tls: false, ...config.admin },
    portal: { enabled: true, tls: false, address: '127.0.0.1', port: 0, ...config.portal },
    mfa: { required: true, ...config.mfa },
  });
  const core = srv.server.core;
  const admins = new AdminAccountService(core.store, core.audit, () => SecretBox.load(srv.dataDir), core.config);
  return {
    srv,
    adminUrl: srv.server.api!.url,
    portalUrl: srv.server.portal!.url,
    admins,
    async createAdmin(name, role = 'full') {
      return (await admins.create(cliActor(), name, role, ADMIN_PASSWORD)).totpSecret;
    },
  };
}

/** A code for the time step `offset` steps from now (each step is usable once per admin). */
export function codeAt(secret: string, offset = 0): string {
  return currentCode(secret, Date.now() + offset * 30_000);
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  location: string | undefined;
}

/** One browser-like client: keeps the cookies it is given, sends from `from`. */
export class WebClient {
  cookies = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly from = '127.0.0.1',
  ) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  request(method: 'GET' | 'POST', path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    const url = new URL(path, this.base);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method,
          localAddress: this.from,
          headers: {
            ...(this.cookies.size > 0 && { cookie: this.cookieHeader() }),
            ...(body !== undefined && { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const c of res.headers['set-cookie'] ?? []) {
              const [pair] = c.split(';');
              const i = pair!.indexOf('=');
              const name = pair!.slice(0, i);
              const value = pair!.slice(i + 1);
              if (value === '' || /Max-Age=0/i.test(c)) this.cookies.delete(name);
              else this.cookies.set(name, value);
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), location: res.headers.location });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request('GET', path, undefined, headers);
  }

  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Reply> {
    return this.request('POST', path, form, headers);
  }
}

export function csrfOf(body: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(body);
  if (!m) throw new Error('no CSRF field on the page');
  return m[1]!;
}

/** Signs an admin in (password, then a code); returns the page's CSRF token. */
export async function signInAdmin(c: WebClient, name: string, secret: string, offset = 0): Promise<string> {
  const first = await c.post('/ui/login', { name, password: ADMIN_PASSWORD });
  if (first.status !== 303) throw new Error(`password step: ${first.status} ${first.body.slice(0, 200)}`);
  const codePage = await c.get('/ui/login/code');
  const second = await c.post('/ui/login/code', { _csrf: csrfOf(codePage.body), code: codeAt(secret, offset) });
  if (second.status !== 303) throw new Error(`code step: ${second.status} ${second.body.slice(0, 300)}`);
  return csrfOf((await c.get('/ui/')).body);
}

/** Waits until the store's audit records with this event prefix satisfy `check` (the store sink writes asynchronously). */
export async function auditHas(f: WebFixture, prefix: string, check: (records: AuditRecord[]) => boolean, what: string): Promise<void> {
  let last: AuditRecord[] = [];
  await waitFor(what, async () => check((last = await f.srv.server.core.store.audit.search({ eventPrefix: prefix, limit: 200 })))).catch((err: Error) => {
    throw new Error(`${err.message}; records: ${JSON.stringify(last).slice(0, 1500)}`);
  });
}
