// Who performs an administrative act: the operator at the host's command line, an API token,
// a signed-in admin (web admin), or a user acting on their own account (portal). Every admin
// service call takes one and audits it.
import os from 'node:os';
import type { Protocol } from '../audit/events.ts';

export interface Actor {
  kind: 'cli' | 'api-token' | 'admin-session' | 'portal-user';
  /** The account on the host (cli), the token's id (api-token), the admin's name (admin-session),
   * the user's own name (portal-user). */
  id: string;
  /** The client's address (the socket's, or a configured proxy's X-Forwarded-For); 'local' for the CLI. */
  address: string;
}

export function cliActor(): Actor {
  let id = 'unknown';
  try {
    id = os.userInfo().username;
  } catch {
    // no passwd entry for this uid (containers): keep 'unknown'
  }
  return { kind: 'cli', id, address: 'local' };
}

/** The audit `protocol` of an actor's events (alerts and the defender tell the planes apart by it). */
export function protocolOf(actor: Actor): Protocol {
  return actor.kind === 'cli' ? 'cli' : actor.kind === 'portal-user' ? 'portal' : 'admin';
}
