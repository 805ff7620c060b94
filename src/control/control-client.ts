// The CLI side of the control socket: one request, one reply.
import net from 'node:net';
import { PortcullisError } from '../errors/index.ts';
import type { Actor } from '../admin/actor.ts';
import type { LiveSession, SessionControl } from '../admin/session-service.ts';
import { type ControlReply, type ControlRequest, controlSocketPath } from './control-server.ts';

export async function controlRequest(dataDir: string, req: ControlRequest): Promise<ControlReply & { ok: true }> {
  const file = controlSocketPath(dataDir);
  const text = await new Promise<string>((resolve, reject) => {
    let out = '';
    const sock = net.connect(file);
    sock.setEncoding('utf8');
    sock.setTimeout(15_000, () => sock.destroy(new Error('no reply in 15 s')));
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (c: string) => (out += c));
    sock.on('end', () => resolve(out));
    sock.on('error', (err) => reject(new PortcullisError('ERR_CONTROL_UNAVAILABLE', `${file}: ${err.message}`, { cause: err })));
  });
  let reply: ControlReply;
  try {
    reply = JSON.parse(text) as ControlReply;
  } catch {
    throw new PortcullisError('ERR_CONTROL_UNAVAILABLE', `${file}: no valid reply`);
  }
  if (!reply.ok) throw new PortcullisError(reply.code as 'ERR_CONTROL_BAD_REQUEST', reply.message);
  return reply;
}

/** The CLI's view of the running server's sessions (the server audits the kill). */
export class ControlSocketSessions implements SessionControl {
  constructor(private readonly dataDir: string) {}

  async list(): Promise<LiveSession[]> {
    return (await controlRequest(this.dataDir, { op: 'sessions.list' })).sessions ?? [];
  }

  async kill(actor: Actor, id: string): Promise<LiveSession> {
    return (await controlRequest(this.dataDir, { op: 'sessions.kill', id, by: actor.id })).killed!;
  }
}
