// `portcullis serve` with workers > 1 (docs/workers.md): the same command starts the primary,
// and node:cluster starts this module's worker half in each forked process.
import cluster from 'node:cluster';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { PortcullisError } from '../errors/index.ts';
import { handOverUnsupported } from '../net/hand-over.ts';
import { startServer, type RunningServer } from '../server.ts';
import { parsePortRange } from '../config/schema.ts';
import { Primary, workerCount } from './supervisor.ts';
import { WorkerLink } from './worker-link.ts';

/** Why this configuration cannot run with workers, or null. Checked at start, naming the key. */
export function refuseWorkers(loaded: LoadedConfig, count: number, env: NodeJS.ProcessEnv = process.env): string | null {
  const { config } = loaded;
  if (env.LISTEN_FDS) return `workers: ${String(config.workers)}: systemd socket activation (LISTEN_FDS) is not supported with workers; set workers: 1 or remove the .socket unit (docs/workers.md)`;
  const range = parsePortRange(config.ftps.passivePorts)!;
  if (config.ftps.enabled && range[1] - range[0] + 1 < count) return `ftps.passivePorts: ${config.ftps.passivePorts} has fewer ports than workers (${count}): each worker needs its own slice`;
  void handOverUnsupported;
  return null;
}

/** The primary: the core without listeners of its own, and the workers. */
export async function startPrimary(loaded: LoadedConfig, out?: (line: string) => void): Promise<RunningServer> {
  const count = workerCount(loaded.config);
  const refused = refuseWorkers(loaded, count);
  if (refused) throw new PortcullisError('ERR_CONFIG_INVALID', refused);
  const primary = new Primary(count, loaded.config);
  const server = await startServer(loaded, out, { primary });
  return server;
}

/**
 * A worker: serves SFTP and FTPS until the primary says stop (or goes away: then it drains and
 * exits). Signals from a terminal reach the whole process group; the primary alone acts on them.
 */
export async function runWorker(loaded: LoadedConfig): Promise<void> {
  const link = new WorkerLink(cluster.worker!.id);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'] as const) process.on(s, () => undefined);
  const server = await startServer(loaded, () => undefined, { worker: link });
  let stopping = false;
  const stop = (drainMs: number): void => {
    if (stopping) return;
    stopping = true;
    void server.stop({ drainMs }).finally(() => process.exit(0));
  };
  link.serveHandlers({
    reload: () => server.reload(() => loadConfig({ file: loaded.file ?? undefined })),
    stop,
    endDrain: () => server.endDrain(),
  });
  // The primary gone (killed): no new connections come; those here may finish.
  process.on('disconnect', () => stop(loaded.config.limits.drainTimeoutMs));
  link.ready(server.listeners.map((l) => ({ name: l.name, scheme: l.scheme, address: l.address, port: l.port })));
}
