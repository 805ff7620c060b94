// The web admin (docs/web.md): server-rendered pages on the admin listener under /ui/, over the
// same admin services as the CLI and the REST API. Sign-in: name + password, then a TOTP code;
// roles `full` (every action) and `auditor` (reads only). Sensitive actions (MFA reset, creating
// an admin, exporting the audit trail) need the password and a code again (re-authentication).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminServices } from '../admin/services.ts';
import type { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { isPortcullisError, PortcullisError } from '../errors/index.ts';
import type { Store } from '../store/store.ts';
import { type Html, html } from './html.ts';
import { toCsv } from './csv.ts';
import { actorOf, checkRequest, csrfField, type Form, type Guard, layout, type PlaneOptions, sendError, setupWebPlane } from './web-plane.ts';
import type { WebSession, WebSessions } from './web-sessions.ts';
import { portalLink } from './portal-link.ts';
import type { SetupToken } from './admin-setup.ts';
import { ADMIN_PREFIX, LOGIN, registerAdminSignIn } from './admin-sign-in.ts';

export { ADMIN_PREFIX };


const NAV: [string, string][] = [
  ['Dashboard', '/ui/'],
  ['Users', '/ui/users'],
  ['Sessions', '/ui/sessions'],
  ['Bans & rules', '/ui/bans'],
  ['Audit', '/ui/audit'],
  ['Scans', '/ui/scans'],
  ['Admins', '/ui/admins'],
  ['Settings', '/ui/settings'],
];

/** Messages after a change (a fixed vocabulary: nothing from the query is echoed). */
const FLASH: Record<string, string> = {
  created: 'Created.',
  updated: 'Saved.',
  killed: 'The session was ended.',
  lifted: 'The ban was lifted.',
  banned: 'The address was banned.',
  'rule-added': 'The rule was added.',
  'rule-removed': 'The rule was removed.',
  'key-added': 'The key was added.',
  'key-removed': 'The key was removed.',
  'mfa-reset': 'MFA was reset: the user enrols again at the next invitation or with `portcullis mfa enroll`.',
  'scan-started': 'The scan was started; reload in a few seconds.',
  reauth: 'Confirmed. Repeat the action.',
};

export interface AdminWebDeps {
  services: AdminServices;
  sessions: WebSessions;
  audit: Audit;
  store: Store;
  config: Config;
  clientAddress: (req: FastifyRequest) => string;
  certificate: () => { validTo: string; fingerprint: string };
  /** The running portal's port (invitation links when portal.publicUrl is not set). */
  portalPort?: number | undefined;
  /** The one-time setup token printed at start when no admin existed (admin-setup.ts). */
  setup?: SetupToken | undefined;
}

export type Out = Html | string | { csv: string; filename: string };
export type AdminRoute = (method: 'GET' | 'POST', url: string, guard: Guard, handler: (req: FastifyRequest, session: WebSession, form: Form) => Promise<Out>, opts?: { reauth?: (req: FastifyRequest) => string }) => void;
export type AdminPage = (req: FastifyRequest, title: string, body: Html) => Html;

const canWrite = (deps: AdminWebDeps) => async (s: WebSession) => (await deps.store.admins.byName(s.subject))?.role === 'full';

export function registerAdminWeb(app: FastifyInstance, deps: AdminWebDeps): void {
  const o: PlaneOptions = { plane: 'admin', sessions: deps.sessions, audit: deps.audit, clientAddress: deps.clientAddress, loginPath: LOGIN, prefix: ADMIN_PREFIX };
  setupWebPlane(app);
  const full: Guard = { stage: 'full', allow: canWrite(deps) };
  const read: Guard = { stage: 'full' };
  const svc = deps.services;

  const page: AdminPage = (req, title, body) => {
    const s = req.webSession!;
    const flash = (req.query as Record<string, string> | undefined)?.done;
    return layout({ title, nav: { links: NAV, who: s.subject, csrf: s.csrf, logout: '/ui/logout', current: req.url.split('?')[0] }, body, flash: flash && Object.hasOwn(FLASH, flash) ? FLASH[flash] : undefined });
  };

  const route: AdminRoute = (method, url, guard, handler, opts = {}) => {
    app.route({
      method,
      url,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        if (!(await checkRequest(req, reply, o, guard))) return reply;
        const session = req.webSession!;
        if (opts.reauth && !deps.sessions.recentlyProven(session)) {
          // SECURITY: sensitive actions need a fresh password + code (re-authentication)
          return reply.redirect(`/ui/reauth?next=${encodeURIComponent(opts.reauth(req))}`, 303);
        }
        try {
          const out = await handler(req, session, (req.body as Form | undefined) ?? {});
          if (typeof out === 'string') return reply.redirect(out, 303);
          if ('csv' in out) return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${out.filename}"`).send(out.csv);
          return reply.type('text/html; charset=utf-8').send(out.value);
        } catch (err) {
          if (isPortcullisError(err) && err.code !== 'ERR_INTERNAL') return sendError(reply, 400, err.code, err.detail?.slice(0, 300));
          throw err;
        }
      },
    });
  };

  app.get('/', (_req, reply) => reply.redirect(ADMIN_PREFIX, 303));

  registerAdminSignIn({ app, deps, o, read, route, page });

  // --- dashboard ------------------------------------------------------------------------------
  route('GET', ADMIN_PREFIX, read, async (req) => {
    const [posture, live, failures, bans, scans] = await Promise.all([
      svc.posture.configurationChecks().catch(() => null),
      svc.sessions.list().catch(() => []),
      svc.audit.search({ event: 'auth.failed', since: '24h' }, 10),
      svc.policy.listBans(),
      svc.scans.history(undefined, 1).catch(() => []),
    ]);
    const cert = deps.certificate();
    const daysLeft = Math.floor((Date.parse(cert.validTo) - Date.now()) / 86_400_000);
    const scoreClass = (n: number) => (n >= 90 ? 'ok' : n >= 70 ? 'warn' : 'bad');
    return page(
      req,
      'Dashboard',
      html`<h1>Dashboard</h1>
<div class="cards">
<div class="card"><div>Posture</div><div class="big ${posture ? scoreClass(posture.overall) : ''}">${posture ? posture.overall : 'n/a'}</div><div>lowest layer score of 100</div></div>
<div class="card"><div>Live sessions</div><div class="big">${live.length}</div><a href="/ui/sessions">See sessions</a></div>
<div class="card"><div>Failed logins (24 h)</div><div class="big">${failures.length}${failures.length === 10 ? '+' : ''}</div><a href="/ui/audit?event=auth.failed&amp;since=24h">Search</a></div>
<div class="card"><div>Active bans</div><div class="big">${bans.length}</div><a href="/ui/bans">See bans</a></div>
<div class="card"><div>TLS certificate</div><div class="big ${daysLeft > 30 ? 'ok' : daysLeft > 7 ? 'warn' : 'bad'}">${daysLeft} days</div><div class="mono">until ${cert.validTo}</div></div>
<div class="card"><div>Last scan</div>${scans[0] ? html`<div class="big ${scans[0].failures.length ? 'warn' : 'ok'}">${scans[0].failures.length} findings</div><a href="/ui/scans/${scans[0].runId}">${scans[0].target} at ${scans[0].startedAt}</a>` : html`<div class="big">none</div>`}</div>
</div>
<h2>Security layers</h2>
${
  posture
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Layer</th><th scope="col">Score</th><th scope="col">Findings</th></tr></thead><tbody>
${posture.layers.map((l) => html`<tr><td>${l.layer}</td><td class="${scoreClass(l.score)}">${l.score}</td><td>${Object.entries(l.findings).filter(([, n]) => n > 0).map(([sev, n]) => `${n} ${sev}`).join(', ') || 'none'}</td></tr>`)}
</tbody></table></div>`
    : html`<p>Posture is not available.</p>`
}
<h2>Recent failed logins</h2>
${auditTable(failures)}`,
    );
  });

  // --- users ------------------------------------------------------------------------------------
  route('GET', '/ui/users', read, async (req, s) => {
    const q = String((req.query as Record<string, string>).q ?? '').slice(0, 64).toLowerCase();
    const users = (await svc.users.summaries(deps.config.mfa.required)).filter((u) => !q || u.name.toLowerCase().includes(q)).slice(0, LIMITS.web.pageRows);
    return page(
      req,
      'Users',
      html`<h1>Users</h1>
<form method="get" action="/ui/users" role="search"><label for="q">Search by name</label><input id="q" name="q" type="search" value="${q}"><button type="submit" class="secondary">Search</button></form>
<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Password</th><th scope="col">Keys</th><th scope="col">MFA</th><th scope="col">Access</th></tr></thead><tbody>
${users.map((u) => html`<tr><td><a href="/ui/users/${encodeURIComponent(u.name)}">${u.name}</a></td><td>${u.disabled ? html`<span class="bad">disabled</span>` : 'active'}</td><td>${u.password ? 'yes' : 'no'}</td><td>${u.keys}</td><td>${u.mfa.enrolled === 'yes' ? 'enrolled' : u.mfa.required ? html`<span class="warn">required, ${u.mfa.enrolled === 'pending' ? 'pending' : 'not enrolled'}</span>` : 'off'}</td><td>${u.permissions.some((p) => !['list', 'read'].includes(p)) ? 'read-write' : 'read-only'}</td></tr>`)}
</tbody></table></div>
<h2>Create a user</h2>
<form method="post" action="/ui/users">${csrfField(s)}
<label for="new-name">Name</label><input id="new-name" name="name" required maxlength="64">
<label class="check"><input type="checkbox" name="readOnly" value="1"> Read-only</label>
<p>The user gets no password: send them an invitation from their page; they set a password and enrol MFA in the portal.</p>
<button type="submit">Create</button></form>`,
    );
  });
  route('POST', '/ui/users', full, async (_req, s, form) => {
    const name = String(form.name ?? '').trim();
    await svc.users.create(actorOf('admin', s), name, { invited: true, readOnly: form.readOnly === '1' });
    return `/ui/users/${encodeURIComponent(name)}?done=created`;
  });
  route('GET', '/ui/users/:name', read, async (req, s) => {
    const name = (req.params as { name: string }).name;
    const [u, keys, mfa] = await Promise.all([svc.users.get(name), svc.users.listKeys(name), svc.mfa.status(name)]);
    const base = `/ui/users/${encodeURIComponent(u.name)}`;
    return page(
      req,
      u.name,
      html`<h1>User ${u.name}</h1>
<p>Home <code>${u.home}</code> · created ${u.createdAt} · ${u.password ? 'has a password' : 'no password yet'} · MFA ${mfa.state}${mfa.lockedUntil ? `, locked until ${mfa.lockedUntil}` : ''}, ${mfa.recoveryCodesLeft} recovery codes left</p>
<h2>Access</h2>
<form method="post" action="${base}">${csrfField(s)}
<label class="check"><input type="checkbox" name="disabled" value="1"${u.disabled ? html` checked` : ''}> Disabled (no login on any protocol)</label><br>
<label class="check"><input type="checkbox" name="readOnly" value="1"${u.readOnly ? html` checked` : ''}> Read-only</label>
<label for="allowed">Allowed addresses (CIDRs, comma-separated; empty: any)</label><input id="allowed" name="allowedCidrs" value="${u.allowedCidrs.join(', ')}">
<label for="hours">Access hours (e.g. mon-fri 08:00-18:00; empty: any time)</label><input id="hours" name="accessHours" value="${u.accessHours}">
<label for="max">Most sessions at once (0: the server's limit)</label><input id="max" name="maxSessions" inputmode="numeric" value="${u.maxSessions}">
<button type="submit">Save</button></form>
<h2>Invitation</h2>
<form method="post" action="${base}/invite">${csrfField(s)}<p>A one-time link (7 days) to set a password and enrol MFA in the portal. Any earlier link stops working.</p><button type="submit">Create invitation link</button></form>
<h2>SSH keys</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Fingerprint</th><th scope="col">Algorithm</th><th scope="col">Comment</th><th scope="col">Added</th><th scope="col"><span class="skip">Actions</span></th></tr></thead><tbody>
${keys.map((k) => html`<tr><td class="mono">${k.fingerprint}</td><td>${k.algorithm}</td><td>${k.comment}</td><td>${k.createdAt}</td><td><form method="post" action="${base}/keys/remove" class="inline">${csrfField(s)}<input type="hidden" name="fingerprint" value="${k.fingerprint}"><button type="submit" class="danger" data-confirm="Remove this key?">Remove</button></form></td></tr>`)}
</tbody></table></div>
<form method="post" action="${base}/keys">${csrfField(s)}<label for="key">Add a public key (one OpenSSH line)</label><textarea id="key" name="publicKey" required></textarea><button type="submit">Add key</button></form>
<h2>MFA</h2>
<form method="post" action="${base}/mfa-reset">${csrfField(s)}<p>Removes the user's authenticator secret and recovery codes. Needs your password and a code.</p><button type="submit" class="danger" data-confirm="Reset MFA for this user?">Reset MFA</button></form>`,
    );
  });
  const list = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  route('POST', '/ui/users/:name', full, async (req, s, form) => {
    const name = (req.params as { name: string }).name;
    const max = Number(form.maxSessions ?? '0');
    if (!Number.isInteger(max) || max < 0) throw new PortcullisError('ERR_WEB_BAD_FORM', 'most sessions must be a whole number, 0 or more');
    await svc.users.update(actorOf('admin', s), name, { disabled: form.disabled === '1', readOnly: form.readOnly === '1', allowedCidrs: list(form.allowedCidrs), accessHours: String(form.accessHours ?? '').trim(), maxSessions: max });
    return `/ui/users/${encodeURIComponent(name)}?done=updated`;
  });
  route('POST', '/ui/users/:name/keys', full, async (req, s, form) => {
    const name = (req.params as { name: string }).name;
    await svc.users.addKey(actorOf('admin', s), name, String(form.publicKey ?? '').trim());
    return `/ui/users/${encodeURIComponent(name)}?done=key-added`;
  });
  route('POST', '/ui/users/:name/keys/remove', full, async (req, s, form) => {
    const name = (req.params as { name: string }).name;
    await svc.users.removeKey(actorOf('admin', s), name, String(form.fingerprint ?? ''));
    return `/ui/users/${encodeURIComponent(name)}?done=key-removed`;
  });
  route(
    'POST',
    '/ui/users/:name/mfa-reset',
    full,
    async (req, s) => {
      const name = (req.params as { name: string }).name;
      await svc.mfa.reset(actorOf('admin', s), name);
      return `/ui/users/${encodeURIComponent(name)}?done=mfa-reset`;
    },
    { reauth: (req) => `/ui/users/${encodeURIComponent((req.params as { name: string }).name)}` },
  );
  route('POST', '/ui/users/:name/invite', full, async (req, s) => {
    const name = (req.params as { name: string }).name;
    const actor = actorOf('admin', s);
    const inv = await svc.invitations.create(name, LIMITS.migrate.inviteDays.default, new Date(), actor);
    const link = portalLink(deps.config, inv.token, deps.portalPort);
    return page(
      req,
      'Invitation',
      html`<h1>Invitation for ${inv.user}</h1>
<p>Send this link to ${inv.user} through a channel you trust. It works once, until ${inv.expiresAt}, and is not shown again.</p>
<p><code id="invite-link">${link}</code></p>
${deps.config.portal.enabled ? '' : html`<p role="alert">The portal is off (portal.enabled: false): turn it on so the link works.</p>`}
<p><a href="/ui/users/${encodeURIComponent(inv.user)}">Back to ${inv.user}</a></p>`,
    );
  });

  // --- sessions ---------------------------------------------------------------------------------
  route('GET', '/ui/sessions', read, async (req, s) => {
    const live = await svc.sessions.list();
    return page(
      req,
      'Sessions',
      html`<h1>Live sessions</h1>
<div class="table-wrap"><table><thead><tr><th scope="col">Id</th><th scope="col">User</th><th scope="col">Protocol</th><th scope="col">Address</th><th scope="col">Since</th><th scope="col">Transfer</th><th scope="col"><span class="skip">Actions</span></th></tr></thead><tbody>
${live.map((l) => html`<tr><td class="mono">${l.id.slice(0, 12)}</td><td>${l.user ?? '(not logged in)'}</td><td>${l.protocol}</td><td>${l.address}</td><td>${l.since}</td><td>${l.transfer ? `${l.transfer.direction} ${l.transfer.path} (${l.transfer.bytes} bytes)` : ''}</td><td><form method="post" action="/ui/sessions/kill" class="inline">${csrfField(s)}<input type="hidden" name="id" value="${l.id}"><button type="submit" class="danger" data-confirm="End this session?">Kill</button></form></td></tr>`)}
</tbody></table></div>${live.length === 0 ? html`<p>No live sessions.</p>` : ''}`,
    );
  });
  route('POST', '/ui/sessions/kill', full, async (_req, s, form) => {
    await svc.sessions.kill(actorOf('admin', s), String(form.id ?? ''));
    return '/ui/sessions?done=killed';
  });

  // --- bans and rules ---------------------------------------------------------------------------
  route('GET', '/ui/bans', read, async (req, s) => {
    const [bans, allow, deny] = await Promise.all([svc.policy.listBans(), svc.policy.listRules('allow'), svc.policy.listRules('deny')]);
    const ruleRows = (kind: string, rules: typeof allow) =>
      rules.map(
        (r) => html`<tr><td>${kind}</td><td class="mono">${r.cidr}</td><td>${r.protocols.join(', ') || 'all'}</td><td>${r.source}</td><td>${r.comment}</td><td>${r.source === 'store' ? html`<form method="post" action="/ui/rules/remove" class="inline">${csrfField(s)}<input type="hidden" name="kind" value="${kind}"><input type="hidden" name="cidr" value="${r.cidr}"><button type="submit" class="danger" data-confirm="Remove this rule?">Remove</button></form>` : 'config file'}</td></tr>`,
      );
    return page(
      req,
      'Bans & rules',
      html`<h1>Bans</h1>
<div class="table-wrap"><table><thead><tr><th scope="col">Address</th><th scope="col">Reason</th><th scope="col">By</th><th scope="col">Since</th><th scope="col">Until</th><th scope="col"><span class="skip">Actions</span></th></tr></thead><tbody>
${bans.map((b) => html`<tr><td class="mono">${b.address}</td><td>${b.reason}</td><td>${b.source}</td><td>${b.createdAt}</td><td>${b.expiresAt}</td><td><form method="post" action="/ui/bans/lift" class="inline">${csrfField(s)}<input type="hidden" name="address" value="${b.address}"><button type="submit" data-confirm="Lift this ban?">Lift</button></form></td></tr>`)}
</tbody></table></div>${bans.length === 0 ? html`<p>No active bans.</p>` : ''}
<form method="post" action="/ui/bans">${csrfField(s)}<label for="ban-address">Ban an address or prefix</label><input id="ban-address" name="address" required><label for="ban-minutes">Minutes</label><input id="ban-minutes" name="minutes" inputmode="numeric" value="60"><label for="ban-reason">Reason</label><input id="ban-reason" name="reason"><button type="submit">Ban</button></form>
<h1>Address rules</h1>
<div class="table-wrap"><table><thead><tr><th scope="col">Kind</th><th scope="col">CIDR</th><th scope="col">Protocols</th><th scope="col">Source</th><th scope="col">Comment</th><th scope="col"><span class="skip">Actions</span></th></tr></thead><tbody>
${ruleRows('allow', allow)}${ruleRows('deny', deny)}
</tbody></table></div>
<form method="post" action="/ui/rules">${csrfField(s)}<label for="rule-kind">Kind</label><select id="rule-kind" name="kind"><option value="deny">deny</option><option value="allow">allow</option></select><label for="rule-cidr">CIDR</label><input id="rule-cidr" name="cidr" required><label for="rule-protocols">Protocols (comma-separated: sftp, ftps, admin, portal; empty: all)</label><input id="rule-protocols" name="protocols"><label for="rule-comment">Comment</label><input id="rule-comment" name="comment"><button type="submit">Add rule</button></form>`,
    );
  });
  route('POST', '/ui/bans/lift', full, async (_req, s, form) => {
    await svc.policy.liftBan(actorOf('admin', s), String(form.address ?? ''));
    return '/ui/bans?done=lifted';
  });
  route('POST', '/ui/bans', full, async (_req, s, form) => {
    const minutes = Number(form.minutes ?? '60');
    await svc.policy.addBan(actorOf('admin', s), String(form.address ?? '').trim(), { minutes: Number.isFinite(minutes) ? minutes : undefined, reason: String(form.reason ?? '').slice(0, 200) || undefined });
    return '/ui/bans?done=banned';
  });
  const kindOf = (v: unknown) => {
    if (v !== 'allow' && v !== 'deny') throw new PortcullisError('ERR_WEB_BAD_FORM', 'kind must be allow or deny');
    return v;
  };
  route('POST', '/ui/rules', full, async (_req, s, form) => {
    await svc.policy.addRule(actorOf('admin', s), kindOf(form.kind), String(form.cidr ?? '').trim(), list(form.protocols), String(form.comment ?? '').slice(0, 200));
    return '/ui/bans?done=rule-added';
  });
  route('POST', '/ui/rules/remove', full, async (_req, s, form) => {
    await svc.policy.removeRule(actorOf('admin', s), kindOf(form.kind), String(form.cidr ?? ''));
    return '/ui/bans?done=rule-removed';
  });

  // --- audit ------------------------------------------------------------------------------------
  const auditFilter = (q: Record<string, string>) => ({
    user: q.user?.trim().slice(0, 64) || undefined,
    address: q.address?.trim().slice(0, 64) || undefined,
    event: q.event?.trim().slice(0, 64) || undefined,
    since: q.since?.trim().slice(0, 40) || undefined,
    until: q.until?.trim().slice(0, 40) || undefined,
  });
  route('GET', '/ui/audit', read, async (req, s) => {
    const q = (req.query as Record<string, string>) ?? {};
    const f = auditFilter(q);
    const records = await svc.audit.search(f, LIMITS.web.pageRows);
    const field = (id: string, label: string, value: string | undefined, hint: string) => html`<label for="${id}">${label}</label><input id="${id}" name="${id}" value="${value ?? ''}" placeholder="${hint}">`;
    return page(
      req,
      'Audit',
      html`<h1>Audit trail</h1>
<form method="get" action="/ui/audit" role="search">
${field('user', 'User', f.user, 'alice')}${field('address', 'Address', f.address, '203.0.113.7')}${field('event', 'Event (prefix or glob)', f.event, 'auth.failed or file.*')}${field('since', 'Since', f.since, '24h or 2026-12-01')}${field('until', 'Until', f.until, '')}
<button type="submit">Search</button></form>
<form method="post" action="/ui/audit/verify" class="inline">${csrfField(s)}<button type="submit" class="secondary">Verify the hash chain</button></form>
<form method="post" action="/ui/audit/export" class="inline">${csrfField(s)}${Object.entries(f).map(([k, v]) => (v ? html`<input type="hidden" name="${k}" value="${v}">` : ''))}<button type="submit" class="secondary">Export CSV</button></form>
<p>${records.length} records (newest ${LIMITS.web.pageRows} at most, oldest first).</p>
${auditTable(records)}`,
    );
  });
  route('POST', '/ui/audit/verify', read, async (req) => {
    const r = await svc.audit.verify();
    return page(
      req,
      'Audit verification',
      html`<h1>Audit trail verification</h1>
<p class="${r.ok ? 'ok' : 'bad'}">${r.ok ? 'The hash chain is intact.' : 'The hash chain is BROKEN: see the problems below.'}</p>
${[r.files, r.store].filter((c) => c !== null).map((c) => html`<pre class="mono">${JSON.stringify(c, null, 2).slice(0, 20_000)}</pre>`)}
${r.notes.map((n) => html`<p>${n}</p>`)}
<p><a href="/ui/audit">Back to the audit trail</a></p>`,
    );
  });
  route(
    'POST',
    '/ui/audit/export',
    read,
    async (_req, s, form) => {
      const f = auditFilter(form);
      const records = await svc.audit.search(f, LIMITS.auditSearchMaxRows);
      deps.audit.emit({ type: 'admin.change', protocol: 'admin', remoteAddress: s.address, resource: 'export', action: 'audit-csv', subject: 'audit', actor: { kind: 'admin-session', id: s.subject }, detail: `${records.length} records; filter ${JSON.stringify(f)}` });
      return { csv: toCsv(['ts', 'event', 'user', 'remoteAddress', 'protocol', 'record'], records.map((r) => [r.ts, r.event, (r as { user?: string }).user ?? '', r.remoteAddress ?? '', r.protocol ?? '', JSON.stringify(r)])), filename: 'portcullis-audit.csv' };
    },
    { reauth: () => '/ui/audit' },
  );

  // --- scans --------------------------------------------------------------------------------------
  route('GET', '/ui/scans', read, async (req, s) => {
    const rows = await svc.scans.history(undefined, 50);
    return page(
      req,
      'Scans',
      html`<h1>Scans</h1>
<form method="post" action="/ui/scans">${csrfField(s)}<button type="submit">Scan this server's listeners now</button></form>
<form method="get" action="/ui/scans/diff"><label for="a">Compare run</label><input id="a" name="a" inputmode="numeric" required><label for="b">with run</label><input id="b" name="b" inputmode="numeric" required><button type="submit" class="secondary">Compare</button></form>
<div class="table-wrap"><table><thead><tr><th scope="col">Run</th><th scope="col">Target</th><th scope="col">Started</th><th scope="col">Reachable</th><th scope="col">Findings</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td><a href="/ui/scans/${r.runId}">${r.runId}</a></td><td>${r.target}</td><td>${r.startedAt}</td><td>${r.reachable ? 'yes' : html`<span class="bad">no</span>`}</td><td>${r.failures.map((f) => `${f.severity}: ${f.title}`).join('; ') || 'none'}</td></tr>`)}
</tbody></table></div>`,
    );
  });
  route('POST', '/ui/scans', full, async (_req, s) => {
    await svc.scans.start(actorOf('admin', s), undefined);
    return '/ui/scans?done=scan-started';
  });
  const runId = (v: unknown) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new PortcullisError('ERR_WEB_BAD_FORM', 'a run is a whole number');
    return n;
  };
  route('GET', '/ui/scans/diff', read, async (req) => {
    const q = req.query as Record<string, string>;
    const d = await svc.scans.diff(runId(q.a), runId(q.b));
    return page(req, 'Scan comparison', html`<h1>Run ${q.a} compared with run ${q.b}</h1><pre class="mono">${JSON.stringify(d, null, 2).slice(0, 50_000)}</pre>`);
  });
  route('GET', '/ui/scans/:id', read, async (req) => {
    const run = await svc.scans.get(runId((req.params as { id: string }).id));
    return page(
      req,
      `Scan ${run.id}`,
      html`<h1>Scan run ${run.id}</h1>
<p>${run.kind}, ${run.trigger}, ${run.status}, started ${run.startedAt}${run.score !== null ? `, score ${run.score}` : ''}</p>
${run.results.map(
  (r) => html`<h2>${r.target}</h2><p>${r.reachable ? 'reachable' : 'unreachable'}</p>
<div class="table-wrap"><table><thead><tr><th scope="col">Severity</th><th scope="col">Finding</th><th scope="col">Id</th></tr></thead><tbody>${r.failures.map((f) => html`<tr><td>${f.severity}</td><td>${f.title}</td><td class="mono">${f.id}</td></tr>`)}</tbody></table></div>
<details><summary>Full report (evidence)</summary><pre class="mono">${JSON.stringify(r.report, null, 2).slice(0, 100_000)}</pre></details>`,
)}`,
    );
  });

  // --- admins -----------------------------------------------------------------------------------
  route('GET', '/ui/admins', read, async (req, s) => {
    const admins = await svc.admins.list();
    return page(
      req,
      'Admins',
      html`<h1>Admin accounts</h1>
<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">By</th></tr></thead><tbody>
${admins.map((a) => html`<tr><td>${a.name}</td><td>${a.role}</td><td>${a.disabled ? 'disabled' : 'active'}</td><td>${a.createdAt}</td><td>${a.createdBy}</td></tr>`)}
</tbody></table></div>
<h2>Create an admin</h2>
<form method="post" action="/ui/admins">${csrfField(s)}
<label for="admin-name">Name</label><input id="admin-name" name="name" required maxlength="64">
<label for="admin-role">Role</label><select id="admin-role" name="role"><option value="auditor">auditor (read-only)</option><option value="full">full</option></select>
<label for="admin-password">Initial password (12 characters or more)</label><input id="admin-password" name="password" type="password" autocomplete="new-password" required>
<p>Needs your password and a code. The new admin's TOTP secret is shown once.</p>
<button type="submit">Create admin</button></form>`,
    );
  });
  route(
    'POST',
    '/ui/admins',
    full,
    async (req, s, form) => {
      const created = await svc.admins.create(actorOf('admin', s), String(form.name ?? '').trim(), String(form.role ?? ''), String(form.password ?? ''));
      return page(req, 'Admin created', html`<h1>Admin ${created.name} (${created.role})</h1><p>Give these to ${created.name} to add to an authenticator app. They are not shown again.</p><p>Secret: <code>${created.totpSecret}</code></p><p>URI: <code>${created.totpUri}</code></p><p><a href="/ui/admins">Back</a></p>`);
    },
    { reauth: () => '/ui/admins' },
  );

  // --- settings -------------------------------------------------------------------------------
  route('GET', '/ui/settings', read, async (req) => page(req, 'Settings', html`<h1>Effective configuration</h1><p>Read-only; secrets are shown as ***. Change the configuration file and run <code>portcullis reload</code>.</p><pre class="mono">${JSON.stringify(svc.posture.effectiveConfig(), null, 2)}</pre>`));
}

function auditTable(records: AuditRecord[]): Html {
  return html`<div class="table-wrap"><table><thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">User</th><th scope="col">Address</th><th scope="col">Details</th></tr></thead><tbody>
${records.map((r) => {
  // the chain fields (hash, prev, seq) are for `verify`, not for reading
  const { ts, event, type: _t, user, remoteAddress, hash: _h, prev: _p, seq: _s, ...rest } = r as AuditRecord & { hash?: string; prev?: string; seq?: number };
  return html`<tr><td class="mono">${ts}</td><td>${event}</td><td>${user ?? ''}</td><td>${remoteAddress ?? ''}</td><td class="mono">${JSON.stringify(rest).slice(0, 400)}</td></tr>`;
})}
</tbody></table></div>`;
}
