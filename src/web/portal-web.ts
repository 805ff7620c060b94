// The self-service portal (docs/portal.md): its own listener, off by default. A user redeems a
// one-time invitation (sets a password, enrols TOTP by scanning a QR code, confirms a code,
// receives recovery codes), and later signs in with password + code to manage their SSH keys,
// change their password, regenerate recovery codes and see their own recent activity.
// Every action is one call to the same services as the CLI, with the user as the actor.
import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyListenOptions, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminServices } from '../admin/services.ts';
import type { Core } from '../app.ts';
import type { AuditRecord } from '../audit/events.ts';
import { SecretBox } from '../auth/mfa/secret-box.ts';
import { LIMITS } from '../config/limits.ts';
import { isPortcullisError, PortcullisError } from '../errors/index.ts';
import type { TlsIdentity } from '../identity/identity.ts';
import type { ConnectionContext } from '../net/connection.ts';
import { createAdmittedHttp } from '../net/http-listener.ts';
import type { User } from '../store/user-repository.ts';
import { InvitationService } from '../users/invitations.ts';
import { Html, html, raw } from './html.ts';
import { actorOf, checkRequest, clearSessionCookie, csrfField, type Form, type Guard, layout, type PlaneOptions, sendError, setSessionCookie, setupWebPlane } from './web-plane.ts';
import { type WebSession, WebSessions } from './web-sessions.ts';

const LOGIN = '/login';
const NAV: [string, string][] = [
  ['My account', '/'],
  ['SSH keys', '/keys'],
  ['Password', '/password'],
  ['Recovery codes', '/recovery'],
];
const FLASH: Record<string, string> = {
  'key-added': 'The key was added.',
  'key-removed': 'The key was removed.',
  password: 'Your password was changed. Other browser sessions were signed out.',
  enrolled: 'You are set up. Use your password and a code from your app for SFTP, FTPS and this portal.',
};

export interface PortalServer {
  address: string;
  port: number;
  url: string;
  reloadTls(tls: TlsIdentity): void;
  close(): Promise<void>;
}

type Out = Html | string;

export async function startPortalServer(core: Core, services: AdminServices): Promise<PortalServer> {
  const { portal } = core.config;
  const { app, clientAddress, admitted } = createAdmittedHttp(core, { protocol: 'portal', tls: portal.tls, trustedProxies: portal.trustedProxies, bodyLimit: LIMITS.web.maxFormBytes });
  await app.register(helmet, { contentSecurityPolicy: false });
  app.removeAllContentTypeParsers();
  app.addHook('onRequest', async (req, reply) => {
    // SECURITY: wait for the connection's admission (rate, bans) before answering anything
    if (!(await admitted(req))) return reply.hijack();
    const address = clientAddress(req);
    const refused = await core.access.addressRule({ address, protocol: 'portal' });
    if (refused) {
      core.audit.emit({ type: 'conn.refused', protocol: 'portal', remoteAddress: address, code: refused.code, rule: refused.rule });
      return sendError(reply, 403, refused.code);
    }
    const encoding = req.headers['content-encoding'];
    // SECURITY: no request-body decompression
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return sendError(reply, 415, 'ERR_WEB_BAD_FORM', 'Content-Encoding is not accepted');
    return undefined;
  });
  app.setErrorHandler((err, req, reply) => {
    if (isPortcullisError(err) && err.code !== 'ERR_INTERNAL') return sendError(reply, 400, err.code, err.detail?.slice(0, 300));
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 413) return sendError(reply, 413, 'ERR_WEB_BAD_FORM', 'the form is too large');
    if (typeof status === 'number' && status < 500) return sendError(reply, status, 'ERR_WEB_BAD_FORM');
    core.logger.error({ err, url: req.url.split('?')[0]!.slice(0, 200) }, 'portal: unexpected error');
    return sendError(reply, 500, 'ERR_INTERNAL');
  });
  app.setNotFoundHandler((_req, reply) => sendError(reply, 404, 'ERR_WEB_BAD_FORM', 'no such page'));

  const sessions = new WebSessions(core.store, core.audit);
  registerPortal(app, { core, services, sessions, clientAddress });

  await app.listen({ host: portal.address, port: portal.port, reusePort: true } as FastifyListenOptions);
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : portal.port;
  const host = portal.address.includes(':') ? `[${portal.address}]` : portal.address;
  return {
    address: portal.address,
    port,
    url: `${portal.tls ? 'https' : 'http'}://${host}:${port}`,
    reloadTls(tls: TlsIdentity) {
      if (portal.tls) (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    },
    close: () => app.close(),
  };
}

interface PortalDeps {
  core: Core;
  services: AdminServices;
  sessions: WebSessions;
  clientAddress: (req: FastifyRequest) => string;
}

function registerPortal(app: FastifyInstance, deps: PortalDeps): void {
  const { core, services: svc, sessions } = deps;
  const o: PlaneOptions = { plane: 'portal', sessions, audit: core.audit, clientAddress: deps.clientAddress, loginPath: LOGIN, prefix: '/' };
  setupWebPlane(app);
  const signedIn: Guard = { stage: 'full' };
  const enrolling: Guard = { stage: 'enrol' };

  const ctxOf = (address: string): ConnectionContext => ({ id: `portal-${randomUUID()}`, protocol: 'portal', remoteAddress: address, remotePort: 0, localAddress: core.config.portal.address, localPort: core.config.portal.port, startedAt: Date.now() });

  /** The session's user, still allowed to use the portal; otherwise the session ends. */
  const userOf = async (s: WebSession): Promise<User> => {
    const user = await core.store.users.get(s.subject);
    if (!user || user.disabled) {
      await sessions.end(s);
      throw new PortcullisError('ERR_WEB_SESSION_INVALID', 'the account is disabled');
    }
    return user;
  };

  const page = (req: FastifyRequest, title: string, body: Html): Html => {
    const s = req.webSession;
    const flash = (req.query as Record<string, string> | undefined)?.done;
    return layout({ title, nav: s && s.stage === 'full' ? { links: NAV, who: s.subject, csrf: s.csrf, logout: '/logout', current: req.url.split('?')[0] } : null, body, flash: flash && Object.hasOwn(FLASH, flash) ? FLASH[flash] : undefined });
  };
  const bare = (title: string, body: Html, error?: string): Html => layout({ title, nav: null, body: html`${error ? html`<p role="alert">${error}</p>` : ''}${body}` });

  const route = (method: 'GET' | 'POST', url: string, guard: Guard, handler: (req: FastifyRequest, reply: FastifyReply, session: WebSession | undefined, form: Form) => Promise<Out | FastifyReply>) => {
    app.route({
      method,
      url,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        if (!(await checkRequest(req, reply, o, guard))) return reply;
        try {
          const out = await handler(req, reply, req.webSession, (req.body as Form | undefined) ?? {});
          if (typeof out === 'string') return reply.redirect(out, 303);
          if (out instanceof Html) return reply.type('text/html; charset=utf-8').send(out.value);
          return out;
        } catch (err) {
          if (isPortcullisError(err) && err.code === 'ERR_WEB_SESSION_INVALID') {
            clearSessionCookie(reply, 'portal');
            return reply.redirect(LOGIN, 303);
          }
          if (isPortcullisError(err) && err.code !== 'ERR_INTERNAL') return sendError(reply, 400, err.code, err.detail?.slice(0, 300));
          throw err;
        }
      },
    });
  };

  // --- sign-in: password, then a code ---------------------------------------------------------
  const loginForm = html`<h1>Sign in</h1>
<form method="post" action="${LOGIN}">
<label for="name">User name</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Continue</button>
</form>
<p>New here? Open the invitation link your administrator sent you.</p>`;
  route('GET', LOGIN, { stage: null }, async () => bare('Sign in', loginForm));
  route('POST', LOGIN, { stage: null }, async (req, reply, _s, form) => {
    const address = deps.clientAddress(req);
    const name = String(form.name ?? '').slice(0, 64);
    // SECURITY: the password step is the file protocols' own auth flow: the per-name guessing
    // throttle, the verification queue (suspect addresses behind clean ones), the MFA lock, the
    // per-user address rules and hours, and the auth.failed record the defender scores.
    const step = await core.newAuthFlow(ctxOf(address)).password(name, String(form.password ?? ''));
    if (step.status === 'failure') {
      // SECURITY: a password alone never enrols a second factor; that takes an invitation
      const message = step.code === 'ERR_AUTH_MFA_NOT_ENROLLED' ? 'Your account needs a second factor that is not set up yet: ask your administrator for an invitation link.' : 'Wrong name or password.';
      return reply.code(401).type('text/html; charset=utf-8').send(bare('Sign in', loginForm, message).value);
    }
    if (step.status === 'success') {
      // no second factor required and none enrolled: the password completed the login
      const s = await sessions.create('portal', step.user.name, 'full', address);
      setSessionCookie(reply, 'portal', s.id);
      return '/';
    }
    const s = await sessions.create('portal', name, 'password', address);
    setSessionCookie(reply, 'portal', s.id);
    return '/login/code';
  });
  const codeForm = (s: WebSession) => html`<h1>Enter your code</h1>
<form method="post" action="/login/code">${csrfField(s)}
<label for="code">Code from your authenticator app (or a recovery code) for ${s.subject}</label><input id="code" name="code" autocomplete="one-time-code" required autofocus>
<button type="submit">Sign in</button></form>`;
  route('GET', '/login/code', { stage: 'password' }, async (_req, _reply, s) => bare('Code', codeForm(s!)));
  route('POST', '/login/code', { stage: 'password' }, async (_req, reply, s, form) => {
    const user = await userOf(s!);
    const r = await core.mfa.verify(user, String(form.code ?? ''), ctxOf(s!.address));
    if (!r.ok) {
      core.audit.emit({ type: 'auth.failed', protocol: 'portal', method: 'totp', code: 'ERR_WEB_LOGIN_FAILED', reason: r.reason === 'locked' ? 'mfa-locked' : 'bad-credentials', remoteAddress: s!.address, user: user.name });
      if (r.reason === 'locked') {
        await sessions.end(s!);
        clearSessionCookie(reply, 'portal');
        return reply.code(401).type('text/html; charset=utf-8').send(bare('Sign in', loginForm, 'Too many wrong codes: the account is locked for a while.').value);
      }
      return reply.code(401).type('text/html; charset=utf-8').send(bare('Code', codeForm(s!), 'Wrong code.').value);
    }
    // SECURITY: the per-user address rules and hours, checked again once the login is complete
    const refusal = core.access.loginGuard(user, ctxOf(s!.address));
    if (refusal) {
      core.audit.emit({ type: 'auth.failed', protocol: 'portal', method: 'totp', code: refusal.code, reason: refusal.reason, remoteAddress: s!.address, user: user.name });
      await sessions.end(s!);
      clearSessionCookie(reply, 'portal');
      return reply.code(401).type('text/html; charset=utf-8').send(bare('Sign in', loginForm, 'Wrong name or password.').value);
    }
    // SECURITY: a new session id once signed in (fixation)
    const next = await sessions.advance(s!, 'full');
    setSessionCookie(reply, 'portal', next.id);
    core.audit.emit({ type: 'auth.succeeded', protocol: 'portal', remoteAddress: s!.address, user: user.name, methods: ['password', r.kind] });
    return '/';
  });
  route('POST', '/logout', signedIn, async (_req, reply, s) => {
    await sessions.end(s!);
    clearSessionCookie(reply, 'portal');
    core.audit.emit({ type: 'web.session.ended', protocol: 'portal', remoteAddress: s!.address, user: s!.subject, plane: 'portal', reason: 'signed-out' });
    return LOGIN;
  });

  // --- enrolment from an invitation -----------------------------------------------------------
  const invitationsFor = (address: string) => new InvitationService(core.store, core.audit, SecretBox.load(core.config.dataDir), svc.users, { kind: 'portal-user', id: '(invitation)', address });
  const enrolForm = (token: string, user: string) => html`<h1>Welcome, ${user}</h1>
<p>Choose a password for SFTP, FTPS and this portal. Next you will set up an authenticator app.</p>
<form method="post" action="/enrol/${token}">
<label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="12">
<label for="password2">The same again</label><input id="password2" name="password2" type="password" autocomplete="new-password" required minlength="12">
<button type="submit">Set password</button></form>`;
  const tokenOf = (req: FastifyRequest) => (req.params as { token: string }).token.slice(0, 100);
  route('GET', '/enrol/:token', { stage: null }, async (req) => {
    const user = await invitationsFor(deps.clientAddress(req)).check(tokenOf(req), deps.clientAddress(req));
    return bare('Welcome', enrolForm(tokenOf(req), user.name));
  });
  route('POST', '/enrol/:token', { stage: null }, async (req, reply, _s, form) => {
    const address = deps.clientAddress(req);
    const token = tokenOf(req);
    const password = String(form.password ?? '');
    if (password !== String(form.password2 ?? '') || password.length < 12) {
      const user = await invitationsFor(address).check(token, address);
      return reply.code(400).type('text/html; charset=utf-8').send(bare('Welcome', enrolForm(token, user.name), 'The two passwords differ, or are shorter than 12 characters.').value);
    }
    const user = await invitationsFor(address).accept(token, password);
    const s = await sessions.create('portal', user.name, 'enrol', address);
    setSessionCookie(reply, 'portal', s.id);
    return '/enrol/mfa';
  });
  route('GET', '/enrol/mfa', enrolling, async (_req, _reply, s) => {
    const user = await userOf(s!);
    if (await core.mfa.isEnrolled(user)) return bare('Set up', html`<h1>Password set</h1><p>Your authenticator app is already set up. <a href="${LOGIN}">Sign in</a>.</p>`);
    const { secret, uri } = await core.mfa.enroll(user);
    const { default: QRCode } = await import('qrcode');
    const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return bare(
      'Authenticator app',
      html`<h1>Set up your authenticator app</h1>
<p>Scan this code with an authenticator app (for example Google Authenticator, Microsoft Authenticator, FreeOTP), or type the secret by hand.</p>
<div class="qr" role="img" aria-label="QR code of your authenticator secret">${raw(svg)}</div>
<p>Secret: <code id="totp-secret">${secret}</code></p>
<form method="post" action="/enrol/mfa">${csrfField(s!)}
<label for="code">The 6-digit code your app shows now</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
<button type="submit">Confirm</button></form>`,
    );
  });
  route('POST', '/enrol/mfa', enrolling, async (_req, reply, s, form) => {
    const user = await userOf(s!);
    const codes = await core.mfa.confirm(user, String(form.code ?? '').trim());
    const kept = html`<h1>You are set up</h1><p>Keep these recovery codes somewhere safe. Each one works once instead of a code from your app. They are not shown again.</p><ul class="codes" id="recovery-codes">${codes.map((c) => html`<li>${c}</li>`)}</ul>`;
    // SECURITY: the link proves the invitation, not the place and time: the user's address rules
    // and hours decide whether enrolment ends signed in (the codes are shown either way, once)
    const refusal = core.access.loginGuard(user, ctxOf(s!.address));
    if (refusal) {
      core.audit.emit({ type: 'auth.failed', protocol: 'portal', method: 'totp', code: refusal.code, reason: refusal.reason, remoteAddress: s!.address, user: user.name });
      await sessions.end(s!);
      clearSessionCookie(reply, 'portal');
      return reply.type('text/html; charset=utf-8').send(bare('Recovery codes', html`${kept}<p>Your account cannot be used from this address or at this time: sign in later from where your administrator allows.</p>`).value);
    }
    const next = await sessions.advance(s!, 'full');
    setSessionCookie(reply, 'portal', next.id);
    core.audit.emit({ type: 'web.session.started', protocol: 'portal', remoteAddress: s!.address, user: user.name, plane: 'portal', method: 'invitation+totp' });
    return reply
      .type('text/html; charset=utf-8')
      .send(
        layout({
          title: 'Recovery codes',
          nav: { links: NAV, who: user.name, csrf: next.csrf, logout: '/logout' },
          body: html`${kept}<p><a href="/">Continue to your account</a></p>`,
        }).value,
      );
  });

  // --- the signed-in user's pages -----------------------------------------------------------
  route('GET', '/', signedIn, async (req, _reply, s) => {
    const user = await userOf(s!);
    const [logins, files, status] = await Promise.all([
      svc.audit.search({ user: user.name, event: 'auth.' }, 20),
      svc.audit.transfers(user.name, 20),
      core.mfa.status(user),
    ]);
    const row = (r: AuditRecord) => {
      const x = r as AuditRecord & { remoteAddress?: string; op?: string; path?: string; outcome?: string; reason?: string };
      return html`<tr><td class="mono">${x.ts}</td><td>${x.event}${x.reason ? ` (${x.reason})` : ''}</td><td>${x.protocol ?? ''}</td><td>${x.remoteAddress ?? ''}</td><td>${x.op ? `${x.op} ${x.path ?? ''} ${x.outcome ?? ''}` : ''}</td></tr>`;
    };
    const table = (rows: AuditRecord[]) => html`<div class="table-wrap"><table><thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Protocol</th><th scope="col">Address</th><th scope="col">File</th></tr></thead><tbody>${[...rows].reverse().map(row)}</tbody></table></div>`;
    return page(
      req,
      'My account',
      html`<h1>${user.name}</h1>
<p>Second factor: ${status.state === 'active' ? 'authenticator app' : 'not set up'} · ${status.recoveryCodesLeft} recovery codes left</p>
<h2>Recent sign-ins</h2>${table(logins)}
<h2>Recent transfers</h2>${table(files)}`,
    );
  });
  route('GET', '/keys', signedIn, async (req, _reply, s) => {
    const keys = await svc.users.listKeys(s!.subject);
    return page(
      req,
      'SSH keys',
      html`<h1>SSH public keys</h1>
<div class="table-wrap"><table><thead><tr><th scope="col">Fingerprint</th><th scope="col">Algorithm</th><th scope="col">Comment</th><th scope="col">Added</th><th scope="col"><span class="skip">Actions</span></th></tr></thead><tbody>
${keys.map((k) => html`<tr><td class="mono">${k.fingerprint}</td><td>${k.algorithm}</td><td>${k.comment}</td><td>${k.createdAt}</td><td><form method="post" action="/keys/remove" class="inline">${csrfField(s!)}<input type="hidden" name="fingerprint" value="${k.fingerprint}"><button type="submit" class="danger" data-confirm="Remove this key?">Remove</button></form></td></tr>`)}
</tbody></table></div>${keys.length === 0 ? html`<p>No keys yet.</p>` : ''}
<form method="post" action="/keys">${csrfField(s!)}<label for="key">Add a public key (the one line of your id_ed25519.pub, for example)</label><textarea id="key" name="publicKey" required></textarea><button type="submit">Add key</button></form>`,
    );
  });
  route('POST', '/keys', signedIn, async (_req, _reply, s, form) => {
    await userOf(s!);
    await svc.users.addKey(actorOf('portal', s!), s!.subject, String(form.publicKey ?? '').trim());
    return '/keys?done=key-added';
  });
  route('POST', '/keys/remove', signedIn, async (_req, _reply, s, form) => {
    await userOf(s!);
    await svc.users.removeKey(actorOf('portal', s!), s!.subject, String(form.fingerprint ?? ''));
    return '/keys?done=key-removed';
  });

  /** Re-authentication inside a form: the current password and a code. */
  const proveAgain = async (user: User, s: WebSession, form: Form): Promise<boolean> => {
    // SECURITY: the same throttle and verification queue as every login
    const ok = await core.checkPassword(user.name, user.passwordHash, String(form.current ?? ''), s.address);
    if (!ok) {
      core.audit.emit({ type: 'auth.failed', protocol: 'portal', method: 'password', code: 'ERR_WEB_REAUTH_REQUIRED', reason: 'bad-credentials', remoteAddress: s.address, user: user.name });
      return false;
    }
    if (!(await core.mfa.isEnrolled(user))) return true;
    return (await core.mfa.verify(user, String(form.code ?? ''), ctxOf(s.address))).ok;
  };
  const reauthFields = html`<label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required>
<label for="code">Code from your app</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code">`;
  const passwordPage = (req: FastifyRequest, s: WebSession) =>
    page(
      req,
      'Password',
      html`<h1>Change your password</h1><form method="post" action="/password">${csrfField(s)}${reauthFields}
<label for="new">New password (12 characters or more)</label><input id="new" name="password" type="password" autocomplete="new-password" required minlength="12">
<label for="new2">The same again</label><input id="new2" name="password2" type="password" autocomplete="new-password" required minlength="12">
<button type="submit">Change password</button></form>`,
    );
  route('GET', '/password', signedIn, async (req, _reply, s) => passwordPage(req, s!));
  route('POST', '/password', signedIn, async (_req, _reply, s, form) => {
    const user = await userOf(s!);
    const password = String(form.password ?? '');
    if (password !== String(form.password2 ?? '') || password.length < 12) throw new PortcullisError('ERR_WEB_BAD_FORM', 'the two new passwords differ, or are shorter than 12 characters');
    if (!(await proveAgain(user, s!, form))) throw new PortcullisError('ERR_WEB_REAUTH_REQUIRED', 'the current password or the code is wrong');
    await svc.users.setPassword(actorOf('portal', s!), user.name, password);
    // every other browser session of this user ends; this one continues under a new id
    await sessions.endAll('portal', user.name);
    const next = await sessions.create('portal', user.name, 'full', s!.address);
    setSessionCookie(_reply, 'portal', next.id);
    return '/?done=password';
  });
  route('GET', '/recovery', signedIn, async (req, _reply, s) =>
    page(req, 'Recovery codes', html`<h1>Recovery codes</h1><p>New codes replace all the old ones.</p><form method="post" action="/recovery">${csrfField(s!)}${reauthFields}<button type="submit">Make new recovery codes</button></form>`),
  );
  route('POST', '/recovery', signedIn, async (req, _reply, s, form) => {
    const user = await userOf(s!);
    if (!(await proveAgain(user, s!, form))) throw new PortcullisError('ERR_WEB_REAUTH_REQUIRED', 'the current password or the code is wrong');
    const codes = await svc.mfa.regenerateRecoveryCodes(actorOf('portal', s!), user.name);
    return page(req, 'Recovery codes', html`<h1>Your new recovery codes</h1><p>Shown once. Each works once.</p><ul class="codes" id="recovery-codes">${codes.map((c) => html`<li>${c}</li>`)}</ul>`);
  });
}
