// The control socket: DATADIR/control.sock, a Unix socket with mode 0600 in the 0700 data dir,
// so only the server's own account can use it. One JSON request line in, one JSON reply line
// out, from a table of operations: `sessions.list`, `sessions.kill` (admin/session-service.ts, audited), and for
// `portcullis posture` `posture.snapshot` and `posture.selfScan` (audited).
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Core } from '../app.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import type { PostureSnapshot } from '../posture/snapshot.ts';
import type { ReloadOutcome } from '../server.ts';
import { sessionControlOf, type LiveSession } from '../admin/session-service.ts';

export type { LiveSession };

export const CONTROL_SOCKET = 'control.sock';

export type ControlRequest = { op: 'sessions.list' } | { op: 'sessions.kill'; id: string; by?: string } | { op: 'posture.snapshot' } | { op: 'posture.selfScan'; seconds: number } | { op: 'config.reload' };
export type ControlReply =
  | { ok: true; sessions?: LiveSession[]; killed?: LiveSession; snapshot?: PostureSnapshot; exemptSeconds?: number; reload?: ReloadOutcome }
  | { ok: false; code: string; message: string };

/** What the control socket needs beyond the core (the server's listeners, its start-up facts). */
export interface ControlContext {
  snapshot(): Promise<PostureSnapshot>;
  /** SIGHUP's reload, asked for by `portcullis reload`. */
  reload?(): ReloadOutcome | Promise<ReloadOutcome>;
}

export function controlSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), CONTROL_SOCKET);
}

type Operation = (core: Core, ctx: ControlContext, req: Record<string, unknown>) => ControlReply | Promise<ControlReply>;

const OPERATIONS: Record<string, Operation> = {
  'sessions.list': async (core) => ({ ok: true, sessions: await sessionControlOf(core).list() }),
  'sessions.kill': async (core, _ctx, req) => {
    if (typeof req.id !== 'string') throw new PortcullisError('ERR_CONTROL_BAD_REQUEST', 'sessions.kill needs an id');
    // SECURITY: only the server's own account reaches this socket (0600); it names itself.
    const by = typeof req.by === 'string' && /^[\w.-]{1,64}$/.test(req.by) ? req.by : 'unknown';
    return { ok: true, killed: await sessionControlOf(core).kill({ kind: 'cli', id: by, address: 'local' }, req.id) };
  },
  'posture.snapshot': async (_core, ctx) => ({ ok: true, snapshot: await ctx.snapshot() }),
  'config.reload': async (_core, ctx) => {
    if (!ctx.reload) throw new PortcullisError('ERR_CONTROL_BAD_REQUEST', 'this server cannot reload from the control socket');
    return { ok: true, reload: await ctx.reload() };
  },
  'posture.selfScan': (core, _ctx, req) => {
    const seconds = typeof req.seconds === 'number' && Number.isFinite(req.seconds) ? Math.max(0, Math.min(req.seconds, LIMITS.postureSelfScanMaxMs / 1000)) : NaN;
    if (Number.isNaN(seconds)) throw new PortcullisError('ERR_CONTROL_BAD_REQUEST', 'posture.selfScan needs seconds');
    core.access.defender.exemptLoopback(seconds * 1000);
    core.audit.emit({ type: 'posture.selfscan', protocol: 'cli', seconds });
    return { ok: true, exemptSeconds: seconds };
  },
};

async function handle(core: Core, ctx: ControlContext, line: string): Promise<ControlReply> {
  let req: Record<string, unknown>;
  try {
    req = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new PortcullisError('ERR_CONTROL_BAD_REQUEST', 'not JSON');
  }
  const op = req && typeof req === 'object' && typeof req.op === 'string' && Object.hasOwn(OPERATIONS, req.op) ? OPERATIONS[req.op] : undefined;
  if (!op) throw new PortcullisError('ERR_CONTROL_BAD_REQUEST', 'unknown operation');
  return op(core, ctx, req);
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

export async function startControlServer(core: Core, ctx: ControlContext): Promise<ControlServer | null> {
  const file = controlSocketPath(core.config.dataDir);
  if (Buffer.byteLength(file) > LIMITS.controlMaxSocketPathBytes) {
    core.logger.warn({ path: file }, 'control socket path too long for a Unix socket: `portcullis sessions` is unavailable');
    return null;
  }
  if (existsSync(file)) {
    const inUse = await new Promise<boolean>((r) => {
      const probe = net.connect(file, () => {
        probe.destroy();
        r(true);
      });
      probe.on('error', () => r(false));
    });
    if (inUse) {
      core.logger.warn({ path: file }, 'another server answers on the control socket: this one has none');
      return null;
    }
    unlinkSync(file); // left behind by a server that did not stop cleanly
  }
  const server = net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0 && Buffer.byteLength(buf) <= LIMITS.controlMaxLineBytes) return;
      sock.removeAllListeners('data');
      const reply: Promise<ControlReply> =
        nl < 0 || nl > LIMITS.controlMaxLineBytes
          ? Promise.resolve({ ok: false, code: 'ERR_CONTROL_BAD_REQUEST', message: 'request line too long' })
          : handle(core, ctx, buf.slice(0, nl)).catch((err: unknown) => {
              const e = err instanceof PortcullisError ? err : new PortcullisError('ERR_CONTROL_BAD_REQUEST', (err as Error).message);
              return { ok: false, code: e.code, message: e.message };
            });
      void reply.then((r) => sock.end(`${JSON.stringify(r)}\n`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => resolve());
  });
  chmodSync(file, 0o600); // SECURITY: only the server's account may list or kill sessions
  return {
    path: file,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
