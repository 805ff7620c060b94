// One audit record per administrative write: `admin.<resource>.<action>`, with the actor and what
// changed (before/after). SECURITY: callers pass views without secrets (no password hashes, no
// key blobs, no token hashes); `redact` below drops any field that slipped through.
import type { Audit } from '../audit/audit.ts';
import type { AdminResource } from '../audit/events.ts';
import { type Actor, protocolOf } from './actor.ts';

const SECRET_FIELDS = new Set(['passwordHash', 'password', 'publicKey', 'secret', 'tokenHash', 'token', 'hash']);

function redact(view: Record<string, unknown> | null | undefined): Record<string, unknown> | undefined {
  if (!view) return undefined;
  return Object.fromEntries(Object.entries(view).filter(([k]) => !SECRET_FIELDS.has(k)));
}

export function recordChange(
  audit: Audit,
  actor: Actor,
  resource: AdminResource,
  action: string,
  subject: string,
  change: { before?: Record<string, unknown> | null; after?: Record<string, unknown> | null; detail?: string } = {},
): void {
  const before = redact(change.before);
  const after = redact(change.after);
  audit.emit({
    type: 'admin.change',
    resource,
    action,
    subject,
    actor: { kind: actor.kind, id: actor.id },
    protocol: protocolOf(actor),
    ...(actor.kind !== 'cli' && { remoteAddress: actor.address }),
    ...(before && { before }),
    ...(after && { after }),
    ...(change.detail && { detail: change.detail }),
  });
}
