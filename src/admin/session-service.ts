// Live sessions of the running server: list and kill. Two ways to reach them, one behaviour:
// in-process (the REST API and the control socket, inside the server) and through the control
// socket (the CLI, outside it). A kill is audited once, by the server, as `session.killed`
// with the actor.
import type { Core } from '../app.ts';
import { PortcullisError } from '../errors/index.ts';
import type { Actor } from './actor.ts';
import { protocolOf } from './actor.ts';

export interface LiveSession {
  id: string;
  protocol: string;
  address: string;
  port: number;
  since: string;
  user: string | null;
  transfer: { direction: 'upload' | 'download'; path: string; bytes: number; since: string } | null;
}

export interface SessionControl {
  list(): Promise<LiveSession[]>;
  /** By id or a unique id prefix (at least 4 characters). */
  kill(actor: Actor, id: string): Promise<LiveSession>;
}

export function liveSessions(core: Core): LiveSession[] {
  const byConnection = new Map([...core.sessions.values()].map((s) => [s.ctx.id, s]));
  return core.admission.connections().map((ctx) => {
    const s = byConnection.get(ctx.id);
    const t = s?.currentTransfers()[0];
    return {
      id: ctx.id,
      protocol: ctx.protocol,
      address: ctx.remoteAddress,
      port: ctx.remotePort,
      since: new Date(ctx.startedAt).toISOString(),
      user: s?.user.name ?? null,
      transfer: t ? { direction: t.direction, path: t.path, bytes: t.bytes, since: new Date(t.startedAt).toISOString() } : null,
    };
  });
}

function resolveSession(all: LiveSession[], id: string): LiveSession {
  const exact = all.find((s) => s.id === id);
  if (exact) return exact;
  const matches = id.length >= 4 ? all.filter((s) => s.id.startsWith(id)) : [];
  if (matches.length === 1) return matches[0]!;
  throw new PortcullisError('ERR_CONTROL_SESSION_NOT_FOUND', matches.length > 1 ? `"${id}" matches ${matches.length} sessions: give more of the id` : `no live session "${id.slice(0, 80)}"`);
}

/** The sessions an operator sees from this server: its own, and with Redis every node's. */
export function sessionControlOf(core: Core): SessionControl {
  const local = new InProcessSessions(core);
  return core.cluster ? core.cluster.sessionsAcrossNodes(local) : local;
}

/** Inside the server process. */
export class InProcessSessions implements SessionControl {
  constructor(private readonly core: Core) {}

  list(): Promise<LiveSession[]> {
    return Promise.resolve(liveSessions(this.core));
  }

  kill(actor: Actor, id: string): Promise<LiveSession> {
    const target = resolveSession(liveSessions(this.core), id);
    this.core.admission.disconnect(target.id);
    this.core.audit.emit({
      type: 'session.killed',
      protocol: protocolOf(actor),
      by: actor.kind === 'cli' ? 'cli' : 'admin',
      actor: { kind: actor.kind, id: actor.id },
      target: target.id,
      sessionId: target.id,
      ...(target.user && { user: target.user }),
      remoteAddress: target.address,
    });
    return Promise.resolve(target);
  }
}
