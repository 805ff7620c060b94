// The one verifier of the management planes (docs/web.md, WEB-SECURITY.md rule 3). Every
// credential that reaches the admin listener or the portal ends here: a REST API bearer token or
// a browser session cookie of a plane. One table maps the kind of credential to its check; a
// credential is only ever checked as the kind its carrier declares (a token in a cookie, or a
// cookie in an Authorization header, is an unknown credential of that kind, never the other).
// There is no other way in: no setup endpoint, no trusted header, no second scheme.
import type { WebPlane } from '../store/web-repository.ts';
import type { SessionRefusal, WebSession, WebSessions } from '../web/web-sessions.ts';
import type { Actor } from './actor.ts';
import type { TokenPrincipal, TokenService } from './token-service.ts';
import { PortcullisError } from '../errors/index.ts';

export type Credential =
  /** `Authorization: Bearer …` on a REST route. */
  | { kind: 'api-token'; token: string }
  /** The `__Host-` session cookie of a plane on one of its pages. */
  | { kind: 'web-session'; plane: WebPlane; cookie: string | undefined };

export type Verified =
  | { ok: true; kind: 'api-token'; actor: Actor; principal: TokenPrincipal }
  | { ok: true; kind: 'web-session'; actor: Actor; session: WebSession }
  | { ok: false; refused: SessionRefusal | 'bad-token' };

export interface VerifierDeps {
  tokens?: Pick<TokenService, 'verify'> | undefined;
  sessions?: Pick<WebSessions, 'verify'> | undefined;
}

/** The actor of a signed-in browser session (services audit with it). */
export function sessionActor(plane: WebPlane, session: WebSession): Actor {
  return { kind: plane === 'admin' ? 'admin-session' : 'portal-user', id: session.subject, address: session.address };
}

type Check<K extends Credential['kind']> = (c: Extract<Credential, { kind: K }>, address: string, deps: VerifierDeps) => Promise<Verified>;

const CHECKS: { [K in Credential['kind']]: Check<K> } = {
  'api-token': async (c, address, deps) => {
    // SECURITY: fail closed when the plane was built without this kind of credential
    if (!deps.tokens) return { ok: false, refused: 'bad-token' };
    try {
      const principal = await deps.tokens.verify(c.token, address);
      return { ok: true, kind: 'api-token', actor: principal.actor, principal };
    } catch (err) {
      if (err instanceof PortcullisError && err.code === 'ERR_API_UNAUTHENTICATED') return { ok: false, refused: 'bad-token' };
      throw err;
    }
  },
  'web-session': async (c, address, deps) => {
    if (!deps.sessions) return { ok: false, refused: 'unknown' };
    const r = await deps.sessions.verify(c.plane, c.cookie, address);
    if ('refused' in r) return { ok: false, refused: r.refused };
    return { ok: true, kind: 'web-session', actor: sessionActor(c.plane, r.session), session: r.session };
  },
};

/**
 * Verifies one credential presented from `address` (the socket's, or a trusted proxy's client).
 * Token failures are scored and audited by TokenService, session refusals by WebSessions.
 */
export async function verifyCredential(credential: Credential, address: string, deps: VerifierDeps): Promise<Verified> {
  const check = CHECKS[credential.kind] as Check<Credential['kind']>;
  return check(credential, address, deps);
}
