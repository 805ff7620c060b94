// The web admin's sign-in (docs/web.md): password then a TOTP code, the first admin from the
// one-time setup token printed at start (admin-setup.ts), sign-out, and re-authentication for
// sensitive actions. The pages themselves are in admin-web.ts; both use its route and page helpers.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, isPortcullisError } from '../errors/index.ts';
import type { AdminPage, AdminRoute, AdminWebDeps } from './admin-web.ts';
import { type Html, html } from './html.ts';
import { checkRequest, clearSessionCookie, csrfField, type Form, type Guard, layout, type PlaneOptions, safeNext, sendError, setSessionCookie } from './web-plane.ts';
import type { WebSession } from './web-sessions.ts';

export const ADMIN_PREFIX = '/ui/';
export const LOGIN = '/ui/login';

export interface AdminSignInContext {
  app: FastifyInstance;
  deps: AdminWebDeps;
  o: PlaneOptions;
  read: Guard;
  route: AdminRoute;
  page: AdminPage;
}

export function registerAdminSignIn({ app, deps, o, read, route, page }: AdminSignInContext): void {
  const svc = deps.services;
  // --- sign-in: password, then code ---------------------------------------------------------
  const loginPage = (req: FastifyRequest, error?: string): Html => {
    const next = safeNext((req.query as Record<string, string>)?.next, ADMIN_PREFIX);
    return layout({
      title: 'Sign in',
      nav: null,
      body: html`<h1>Sign in to the web admin</h1>
${error ? html`<p role="alert">${error}</p>` : ''}
<form method="post" action="${LOGIN}">
<input type="hidden" name="next" value="${next}">
<label for="name">Admin name</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Continue</button>
</form>`,
    });
  };
  route('GET', LOGIN, { stage: null }, async (req) => loginPage(req));
  app.route({
    method: 'POST',
    url: LOGIN,
    handler: async (req, reply) => {
      if (!(await checkRequest(req, reply, o, { stage: null }))) return reply;
      const form = (req.body as Form | undefined) ?? {};
      const address = deps.clientAddress(req);
      const r = await svc.admins.checkPassword(String(form.name ?? '').slice(0, 64), String(form.password ?? ''), address);
      if (!r.ok) return reply.code(401).type('text/html; charset=utf-8').send(loginPage(req, 'Wrong name or password, or the account is locked.').value);
      const s = await deps.sessions.create('admin', r.account.name, 'password', address);
      setSessionCookie(reply, 'admin', s.id);
      return reply.redirect(`/ui/login/code?next=${encodeURIComponent(safeNext(form.next, ADMIN_PREFIX))}`, 303);
    },
  });
  const codePage = (req: FastifyRequest, s: WebSession, error?: string): Html =>
    layout({
      title: 'Code',
      nav: null,
      body: html`<h1>Enter your code</h1>
${error ? html`<p role="alert">${error}</p>` : ''}
<form method="post" action="/ui/login/code">
${csrfField(s)}
<input type="hidden" name="next" value="${safeNext((req.query as Record<string, string>)?.next, ADMIN_PREFIX)}">
<label for="code">6-digit code from your authenticator app for ${s.subject}</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus>
<button type="submit">Sign in</button>
</form>`,
    });
  route('GET', '/ui/login/code', { stage: 'password' }, async (req, s) => codePage(req, s));
  app.route({
    method: 'POST',
    url: '/ui/login/code',
    handler: async (req, reply) => {
      if (!(await checkRequest(req, reply, o, { stage: 'password' }))) return reply;
      const s = req.webSession!;
      const form = (req.body as Form | undefined) ?? {};
      const r = await svc.admins.checkCode(s.subject, String(form.code ?? ''), s.address);
      if (!r.ok) {
        if (r.reason === 'mfa-locked' || r.reason === 'disabled') {
          await deps.sessions.end(s);
          clearSessionCookie(reply, 'admin');
          return reply.code(401).type('text/html; charset=utf-8').send(loginPage(req, 'Wrong name or password, or the account is locked.').value);
        }
        return reply.code(401).type('text/html; charset=utf-8').send(codePage(req, s, 'Wrong code. Check the clock of your device and try the next one.').value);
      }
      // SECURITY: a new session id once signed in (fixation)
      const signed = await deps.sessions.advance(s, 'full');
      setSessionCookie(reply, 'admin', signed.id);
      deps.audit.emit({ type: 'web.session.started', protocol: 'admin', remoteAddress: s.address, user: s.subject, plane: 'admin', method: 'password+totp' });
      return reply.redirect(safeNext(form.next, ADMIN_PREFIX), 303);
    },
  });
  // --- the first admin, with the one-time setup token printed at start (admin-setup.ts) ------
  const setupPage = (error?: string): Html =>
    layout({
      title: 'Set up',
      nav: null,
      body: html`<h1>Create the first admin</h1>
<p>No admin account exists. Enter the one-time setup token printed by the server at start, and the name and password of the first admin (role <em>full</em>). You will then add its code to an authenticator app.</p>
${error ? html`<p role="alert">${error}</p>` : ''}
<form method="post" action="/ui/setup">
<label for="token">Setup token</label><input id="token" name="token" autocomplete="off" required autofocus>
<label for="name">Admin name</label><input id="name" name="name" autocomplete="username" required maxlength="64">
<label for="password">Password (12 characters or more)</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="12">
<button type="submit">Create admin</button>
</form>`,
    });
  // SECURITY: the page exists only while no admin exists and a token was printed at start
  const setupOpen = async () => deps.setup !== undefined && (await deps.setup.isOpen(svc.admins));
  app.route({
    method: 'GET',
    url: '/ui/setup',
    handler: async (req, reply) => {
      if (!(await checkRequest(req, reply, o, { stage: null }))) return reply;
      if (!(await setupOpen())) return sendError(reply, 404, 'ERR_WEB_SETUP_FAILED');
      return reply.type('text/html; charset=utf-8').send(setupPage().value);
    },
  });
  app.route({
    method: 'POST',
    url: '/ui/setup',
    handler: async (req, reply) => {
      if (!(await checkRequest(req, reply, o, { stage: null }))) return reply;
      if (!(await setupOpen())) return sendError(reply, 404, 'ERR_WEB_SETUP_FAILED');
      const form = (req.body as Form | undefined) ?? {};
      const address = deps.clientAddress(req);
      const reopen = deps.setup!.redeem(form.token);
      if (!reopen) {
        // SECURITY: a wrong token is a failed login: audited and scored by the defender
        deps.audit.emit({ type: 'auth.failed', protocol: 'admin', method: 'setup-token', code: 'ERR_WEB_SETUP_FAILED', reason: 'bad-credentials', remoteAddress: address });
        return reply.code(401).type('text/html; charset=utf-8').send(setupPage('Wrong setup token.').value);
      }
      let created;
      try {
        created = await svc.admins.create({ kind: 'admin-session', id: 'setup-token', address }, String(form.name ?? '').trim(), 'full', String(form.password ?? ''));
      } catch (err) {
        if (!isPortcullisError(err) || err.code === 'ERR_INTERNAL') throw err;
        // the token was right: it stays usable for a corrected form
        reopen();
        return reply.code(400).type('text/html; charset=utf-8').send(setupPage(`${ERROR_CATALOGUE[err.code]}${err.detail ? `: ${err.detail.slice(0, 200)}` : ''}`).value);
      }
      const { default: QRCode } = await import('qrcode');
      const qr = await QRCode.toDataURL(created.totpUri, { errorCorrectionLevel: 'M', margin: 2 });
      return reply.type('text/html; charset=utf-8').send(
        layout({
          title: 'Admin created',
          nav: null,
          body: html`<h1>Admin ${created.name} created</h1>
<p>Scan this code with an authenticator app now, or type the secret. Neither is shown again; the setup token no longer works.</p>
<p><img src="${qr}" alt="QR code of the TOTP secret for ${created.name}" width="200" height="200"></p>
<p>Secret: <code id="totp-secret">${created.totpSecret}</code></p>
<p><a href="${LOGIN}">Sign in</a> with the password and a code.</p>`,
        }).value,
      );
    },
  });
  route('POST', '/ui/logout', read, async (_req, s) => {
    await deps.sessions.end(s);
    deps.audit.emit({ type: 'web.session.ended', protocol: 'admin', remoteAddress: s.address, user: s.subject, plane: 'admin', reason: 'signed-out' });
    return LOGIN;
  });

  // --- re-authentication for sensitive actions ----------------------------------------------
  const reauthPage = (req: FastifyRequest, s: WebSession, error?: string) =>
    page(
      req,
      'Confirm',
      html`<h1>Confirm it is you</h1>
${error ? html`<p role="alert">${error}</p>` : ''}
<p>This action needs your password and a current code again.</p>
<form method="post" action="/ui/reauth">
${csrfField(s)}<input type="hidden" name="next" value="${safeNext((req.query as Record<string, string>)?.next, ADMIN_PREFIX)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="code">Code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
<button type="submit">Confirm</button>
</form>`,
    );
  route('GET', '/ui/reauth', read, async (req, s) => reauthPage(req, s));
  route('POST', '/ui/reauth', read, async (req, s, form) => {
    const p = await svc.admins.checkPassword(s.subject, String(form.password ?? ''), s.address);
    const c = p.ok ? await svc.admins.checkCode(s.subject, String(form.code ?? ''), s.address) : p;
    if (!c.ok) return reauthPage(req, s, 'Wrong password or code.');
    await deps.sessions.markReauthenticated(s);
    const next = safeNext(form.next, ADMIN_PREFIX);
    return `${next}${next.includes('?') ? '&' : '?'}done=reauth`;
  });
}
