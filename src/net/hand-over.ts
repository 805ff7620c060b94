// Restart without a refused connection (SIGUSR2, docs/operations.md): the running server starts
// its successor (the same command line, so the code now on disk) with its listening sockets as
// inherited descriptors, waits until the successor says it is ready, and then drains as on
// SIGTERM. Both processes accept from the same kernel queue in between, so a client connecting
// at any moment is served by one of them. The control socket is closed first and bound again by
// the successor; the admin API and health ports are bound with SO_REUSEPORT by both.
import { spawn } from 'node:child_process';
import { LIMITS } from '../config/limits.ts';
import type { Listening } from './listener.ts';

/** Set in the successor's environment: the pid it takes over from. */
export const HANDOVER_ENV = 'LISTEN_HANDOVER_FROM'; // not PORTCULLIS_*: those are configuration keys

export type HandOverResult = { ok: true; pid: number } | { ok: false; reason: string };

interface ReadyMessage {
  type: 'portcullis-ready';
  pid: number;
}

/** The descriptor of a listening socket (libuv's; Linux and other Unix systems). */
function descriptorOf(l: Listening): number | undefined {
  const fd = (l.server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Under systemd the unit's main process is the one it started: a successor would be stopped with
 * it when it exits (Type=simple tracks that pid). There, restarts keep connections waiting in
 * the sockets systemd holds instead (socket activation, docs/operations.md).
 */
export function handOverUnsupported(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.INVOCATION_ID ? 'running under systemd: restart with `systemctl restart portcullis` and socket activation (docs/operations.md) instead' : undefined;
}

/** Starts the successor with `sockets` and resolves when it is ready, or why it is not. */
export function startSuccessor(sockets: readonly Listening[], options: { timeoutMs?: number } = {}): Promise<HandOverResult> {
  const unsupported = handOverUnsupported();
  if (unsupported) return Promise.resolve({ ok: false, reason: unsupported });
  const fds: number[] = [];
  for (const l of sockets) {
    const fd = descriptorOf(l);
    if (fd === undefined) return Promise.resolve({ ok: false, reason: `the ${l.name} listener has no descriptor to pass (closed already, or not a Unix system)` });
    fds.push(fd);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LISTEN_FDS: String(fds.length),
    LISTEN_FDNAMES: sockets.map((l) => l.name).join(':'),
    [HANDOVER_ENV]: String(process.pid),
  };
  delete env.LISTEN_PID;
  return new Promise((resolve) => {
    // Descriptors 3.. are the listeners in order (sd_listen_fds' layout); the IPC channel after them.
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['ignore', 'inherit', 'inherit', ...fds, 'ipc'],
      env,
    });
    let settled = false;
    const settle = (r: HandOverResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners('message');
      if (r.ok) {
        child.unref();
        if (child.connected) child.disconnect();
      } else if (child.exitCode === null) {
        child.kill('SIGKILL'); // never two half-started servers
      }
      resolve(r);
    };
    const timeoutMs = options.timeoutMs ?? LIMITS.handOverReadyMs;
    const timer = setTimeout(() => settle({ ok: false, reason: `the new process was not ready within ${timeoutMs} ms` }), timeoutMs);
    child.on('message', (m: Partial<ReadyMessage>) => {
      if (m?.type === 'portcullis-ready' && child.pid !== undefined && m.pid === child.pid) settle({ ok: true, pid: child.pid });
    });
    child.on('error', (err) => settle({ ok: false, reason: `the new process could not start: ${err.message}` }));
    child.on('exit', (code, signal) => settle({ ok: false, reason: `the new process exited before it was ready (${signal ?? `code ${code}`}); its error is in the log above` }));
  });
}

/** In the successor: the pid of the process it takes over from, if any (read once). */
export function predecessorPid(): number | undefined {
  const v = process.env[HANDOVER_ENV];
  delete process.env[HANDOVER_ENV];
  return v && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** In the successor, once it serves: tells the predecessor, which then drains and exits. */
export function announceReady(): void {
  if (!process.send) return;
  process.send({ type: 'portcullis-ready', pid: process.pid } satisfies ReadyMessage);
  process.disconnect();
}
