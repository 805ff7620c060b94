// Browser sessions of the web admin and the portal (docs/web.md). The id is 32 random bytes in
// a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict, Path=/); the store keeps its SHA-256,
// the plane, the subject, the stage (password only / enrolling / signed in), a CSRF token, the
// address it was made from, and its times. A new id is issued at every change of stage, so an id
// planted before sign-in (fixation) is never the one that becomes signed in.
//
// Address policy: a session is bound to the address it was created from. A cookie presented from
// any other address is refused, the session is ended (it may have been stolen) and the attempt is
// audited; the user signs in again. Operators behind NAT pools that change address per request
// put the portal behind a proxy listed in trustedProxies.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Audit } from '../audit/audit.ts';
import { LIMITS } from '../config/limits.ts';
import type { Store } from '../store/store.ts';
import type { WebPlane, WebSessionRecord, WebStage } from '../store/web-repository.ts';

export const COOKIE_NAME: Record<WebPlane, string> = { admin: '__Host-portcullis-admin', portal: '__Host-portcullis-portal' };

export interface WebSession extends WebSessionRecord {
  /** The id as the browser holds it (only in memory, for this request). */
  id: string;
}

const hash = (id: string) => createHash('sha256').update(id).digest('hex');
const ID = /^[A-Za-z0-9_-]{43}$/;

export type SessionRefusal = 'none' | 'unknown' | 'expired' | 'other-address' | 'other-plane';

export class WebSessions {
  constructor(
    private readonly store: Store,
    private readonly audit: Audit,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session; returns it with its id (for the cookie). */
  async create(plane: WebPlane, subject: string, stage: WebStage, address: string): Promise<WebSession> {
    // SECURITY: 256 bits from the CSPRNG; only the hash is stored
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const record: WebSessionRecord = { idHash: hash(id), plane, subject, stage, csrf: randomBytes(32).toString('base64url'), address, createdAt: now, lastSeenAt: now, reauthAt: stage === 'full' ? now : 0 };
    await this.store.webSessions.add(record);
    return { ...record, id };
  }

  /**
   * The session a cookie names, or why not. Checks plane, idle and absolute lifetime, and the
   * address; refreshes the idle time.
   */
  async verify(plane: WebPlane, cookie: string | undefined, address: string): Promise<{ session: WebSession } | { refused: SessionRefusal }> {
    if (!cookie) return { refused: 'none' };
    if (!ID.test(cookie)) return { refused: 'unknown' };
    const record = await this.store.webSessions.get(hash(cookie));
    if (!record) return { refused: 'unknown' };
    const limits = LIMITS.web.session[plane];
    const now = this.now();
    // SECURITY: a portal session never authenticates the admin plane, nor the reverse
    if (record.plane !== plane) return { refused: 'other-plane' };
    if (record.stage !== 'full' && now - record.createdAt > LIMITS.web.secondFactorMs) {
      await this.store.webSessions.remove(record.idHash);
      return { refused: 'expired' };
    }
    if (now - record.lastSeenAt > limits.idleMs || now - record.createdAt > limits.absoluteMs) {
      await this.store.webSessions.remove(record.idHash);
      return { refused: 'expired' };
    }
    if (record.address !== address) {
      // SECURITY: a cookie replayed from elsewhere ends the session (docs/web.md, address policy)
      await this.store.webSessions.remove(record.idHash);
      this.audit.emit({ type: 'auth.failed', protocol: plane, method: 'web-session', code: 'ERR_WEB_SESSION_INVALID', reason: 'address-not-allowed', remoteAddress: address, user: record.subject });
      return { refused: 'other-address' };
    }
    await this.store.webSessions.touch(record.idHash, now);
    return { session: { ...record, id: cookie, lastSeenAt: now } };
  }

  /** Moves a session to a new stage under a NEW id (the old one stops working). */
  async advance(session: WebSession, stage: WebStage, subject: string = session.subject): Promise<WebSession> {
    await this.store.webSessions.remove(session.idHash);
    const next = await this.create(session.plane, subject, stage, session.address);
    if (stage === 'full') await this.store.webSessions.setReauth(next.idHash, this.now());
    return { ...next, reauthAt: stage === 'full' ? this.now() : 0 };
  }

  /** True when the session proved the password and a code within LIMITS.web.reauthMs. */
  recentlyProven(session: WebSession): boolean {
    return this.now() - session.reauthAt <= LIMITS.web.reauthMs;
  }

  async markReauthenticated(session: WebSession): Promise<void> {
    await this.store.webSessions.setReauth(session.idHash, this.now());
  }

  async end(session: WebSession): Promise<void> {
    await this.store.webSessions.remove(session.idHash);
  }

  async endAll(plane: WebPlane, subject: string): Promise<void> {
    await this.store.webSessions.removeSubject(plane, subject);
  }

  /** Constant-time comparison of a form's CSRF token with the session's. */
  checkCsrf(session: WebSession, presented: unknown): boolean {
    if (typeof presented !== 'string' || presented.length !== session.csrf.length) return false;
    return timingSafeEqual(Buffer.from(presented), Buffer.from(session.csrf));
  }

  async sweep(): Promise<void> {
    const now = this.now();
    const idle = Math.max(LIMITS.web.session.admin.idleMs, LIMITS.web.session.portal.idleMs);
    const absolute = Math.max(LIMITS.web.session.admin.absoluteMs, LIMITS.web.session.portal.absoluteMs);
    await this.store.webSessions.removeExpired(now - idle, now - absolute);
  }
}
