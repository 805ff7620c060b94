// What the web admin and the portal share (docs/web.md): form parsing, the session cookie, the
// session check, CSRF, security headers, redirects, and the page layout. Each plane is a
// fastify plugin that calls `setupWebPlane` first; every route then declares what it needs
// (`guard`) and nothing reaches a handler without passing it.
//
// Per request, in this order: admission (by the listener) → security headers → the session
// cookie verified (plane, lifetime, address) → the stage the route needs → for POST: same-origin
// (Origin / Sec-Fetch-Site) and the session's CSRF token → the role → the handler, which calls
// one service with the session's actor.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../admin/actor.ts';
import { sessionActor, verifyCredential } from '../admin/verifier.ts';
import type { Audit } from '../audit/audit.ts';
import { LIMITS } from '../config/limits.ts';
import { ERROR_CATALOGUE, type ErrorCode, PortcullisError } from '../errors/index.ts';
import type { WebPlane, WebStage } from '../store/web-repository.ts';
import { type Html, html } from './html.ts';
import { COOKIE_NAME, type WebSession, type WebSessions } from './web-sessions.ts';

const ASSETS: Record<string, { type: string; body: Buffer }> = {
  '/assets/web.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./assets/web.css', import.meta.url)) },
  '/assets/web.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./assets/web.js', import.meta.url)) },
};

// SECURITY: no inline script or style, nothing from another origin, no framing, forms post only here
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export type Form = Record<string, string>;

declare module 'fastify' {
  interface FastifyRequest {
    webSession?: WebSession;
    form?: Form;
  }
}

export interface PlaneOptions {
  plane: WebPlane;
  sessions: WebSessions;
  audit: Audit;
  clientAddress: (req: FastifyRequest) => string;
  /** Where to send a browser without a session (the plane's sign-in page). */
  loginPath: string;
  /** Path prefix of the plane's pages (cookie and redirect targets stay inside it). */
  prefix: string;
}

/** Parses an urlencoded form: each key at most once, each value bounded. */
export function parseForm(body: string): Form {
  const out: Form = Object.create(null) as Form;
  for (const [k, v] of new URLSearchParams(body)) {
    // SECURITY: a repeated key is an error, not "first wins" (no parameter pollution)
    if (Object.hasOwn(out, k)) throw new PortcullisError('ERR_WEB_BAD_FORM', `field "${k.slice(0, 40)}" appears twice`);
    if (k.length > 64 || v.length > LIMITS.web.maxFieldChars) throw new PortcullisError('ERR_WEB_BAD_FORM', `field "${k.slice(0, 40)}" is too long`);
    out[k] = v;
  }
  return out;
}

/** A redirect target after sign-in: a path of this plane only (no scheme, host, `//` or `\`). */
export function safeNext(next: unknown, prefix: string): string {
  // SECURITY: open redirects: only our own absolute paths, nothing a browser could read as another host
  if (typeof next !== 'string' || next.length > 200) return prefix;
  if (!next.startsWith(prefix) || !/^\/[A-Za-z0-9/_.~%-]*(\?[A-Za-z0-9=&_.~%-]*)?$/.test(next) || next.includes('//') || next.includes('/..')) return prefix;
  return next;
}

function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header || header.length > 4096) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function setSessionCookie(reply: FastifyReply, plane: WebPlane, id: string): void {
  // SECURITY: __Host- prefix (Secure, Path=/, no Domain), HttpOnly, SameSite=Strict
  void reply.header('set-cookie', `${COOKIE_NAME[plane]}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict`);
}

export function clearSessionCookie(reply: FastifyReply, plane: WebPlane): void {
  void reply.header('set-cookie', `${COOKIE_NAME[plane]}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
}

/** The actor of a signed-in session, for the services. */
export function actorOf(plane: WebPlane, session: WebSession): Actor {
  return sessionActor(plane, session);
}

export interface Guard {
  /** The stage the session must have reached; null: no session needed (sign-in pages). */
  stage: WebStage | null;
  /** For POST routes: a role check (admin plane); return false to refuse. */
  allow?: (session: WebSession) => boolean | Promise<boolean>;
}

export class WebError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
  ) {
    super(ERROR_CATALOGUE[code]);
  }
}

export function setupWebPlane(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: LIMITS.web.maxFormBytes }, (_req, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('content-security-policy', CSP);
    void reply.header('x-frame-options', 'DENY');
    // same-origin: our own forms keep a real Origin header (no-referrer would make it "null"); nothing is sent elsewhere
    void reply.header('referrer-policy', 'same-origin');
    void reply.header('cross-origin-opener-policy', 'same-origin');
    void reply.header('cache-control', 'no-store');
    return payload;
  });
  for (const [url, asset] of Object.entries(ASSETS)) {
    app.get(url, { config: { guard: { stage: null } } }, (_req, reply) => reply.header('content-type', asset.type).header('cache-control', 'no-cache').send(asset.body));
  }
}

/** Verifies the session and, on POST, origin and CSRF; sends the refusal itself (returns false). */
export async function checkRequest(req: FastifyRequest, reply: FastifyReply, o: PlaneOptions, guard: Guard): Promise<boolean> {
  const address = o.clientAddress(req);
  const isPost = req.method === 'POST';
  if (isPost) {
    // SECURITY: cross-site requests are refused before anything else (CSRF, login CSRF)
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    const host = req.headers.host;
    const sameOrigin = origin === undefined || (host !== undefined && (origin === `https://${host}` || origin === `http://${host}`));
    if ((site !== undefined && site !== 'same-origin' && site !== 'none') || !sameOrigin) {
      refuse(o, req, 'ERR_WEB_CSRF', `cross-site request (origin ${String(origin).slice(0, 80)}, sec-fetch-site ${String(site)})`);
      await sendError(reply, 403, 'ERR_WEB_CSRF');
      return false;
    }
  }
  if (guard.stage === null) return true;
  // SECURITY: the one verifier of the management planes (admin/verifier.ts), as for API tokens
  const verified = await verifyCredential({ kind: 'web-session', plane: o.plane, cookie: cookieOf(req, COOKIE_NAME[o.plane]) }, address, { sessions: o.sessions });
  if (!verified.ok || verified.kind !== 'web-session' || verified.session.stage !== guard.stage) {
    const why = !verified.ok ? verified.refused : verified.kind === 'web-session' ? `stage ${verified.session.stage}` : 'not a session';
    if (isPost) {
      refuse(o, req, 'ERR_WEB_SESSION_INVALID', why);
      await sendError(reply, 401, 'ERR_WEB_SESSION_INVALID');
    } else {
      const back = req.url.startsWith(o.prefix) && req.url !== o.loginPath ? `?next=${encodeURIComponent(req.url)}` : '';
      if (!verified.ok && verified.refused !== 'none') clearSessionCookie(reply, o.plane);
      await reply.redirect(`${o.loginPath}${back}`, 303);
    }
    return false;
  }
  const session = verified.session;
  req.webSession = session;
  if (isPost) {
    // SECURITY: the synchroniser token of this session, compared in constant time
    if (!o.sessions.checkCsrf(session, req.form?._csrf ?? (req.body as Form | undefined)?._csrf)) {
      refuse(o, req, 'ERR_WEB_CSRF', 'missing or wrong CSRF token');
      await sendError(reply, 403, 'ERR_WEB_CSRF');
      return false;
    }
    if (guard.allow && !(await guard.allow(session))) {
      refuse(o, req, 'ERR_WEB_FORBIDDEN', 'role');
      await sendError(reply, 403, 'ERR_WEB_FORBIDDEN');
      return false;
    }
  }
  return true;
}

function refuse(o: PlaneOptions, req: FastifyRequest, code: ErrorCode, reason: string): void {
  o.audit.emit({ type: 'web.request.refused', protocol: o.plane, remoteAddress: o.clientAddress(req), plane: o.plane, code, path: req.url.split('?')[0]!.slice(0, 120), reason: reason.slice(0, 200), ...(req.webSession && { user: req.webSession.subject }) });
}

export async function sendError(reply: FastifyReply, status: number, code: ErrorCode, detail?: string): Promise<void> {
  await reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(layout({ title: 'Refused', nav: null, body: html`<h1>Refused</h1><p role="alert">${ERROR_CATALOGUE[code]}${detail ? `: ${detail}` : ''}</p><p><code>${code}</code></p><p><a href="/">Start again</a></p>` }).value);
}

export interface LayoutInput {
  title: string;
  /** Navigation links (label, href) and the signed-in name; null on sign-in pages. */
  nav: { links: [string, string][]; who: string; csrf: string; logout: string; current?: string } | null;
  body: Html;
  flash?: string | undefined;
}

export function layout(p: LayoutInput): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.title} · Portcullis</title>
<link rel="stylesheet" href="/assets/web.css">
<script src="/assets/web.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<span class="brand">Portcullis</span>
${
  p.nav
    ? html`<nav aria-label="Main"><ul>${p.nav.links.map(([label, href]) => html`<li><a href="${href}"${p.nav!.current === href ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>
<form method="post" action="${p.nav.logout}" class="logout"><input type="hidden" name="_csrf" value="${p.nav.csrf}"><span>${p.nav.who}</span> <button type="submit">Sign out</button></form>`
    : ''
}
</header>
<main id="main">
${p.flash ? html`<p class="flash" role="status">${p.flash}</p>` : ''}
${p.body}
</main>
</body>
</html>`;
}

/** A hidden CSRF field for a form of this session. */
export function csrfField(session: WebSession): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}">`;
}
