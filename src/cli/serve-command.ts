import type { Command } from 'commander';
import { announceReady, predecessorPid } from '../net/hand-over.ts';
import { startServer, type RunningServer } from '../server.ts';
import { configFor } from './context.ts';
import cluster from 'node:cluster';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server (SFTP, FTPS) with the configuration')
    .action(async (_opts, cmd: Command) => {
      const loaded = configFor(cmd);
      const workers = loaded.config.workers;
      // workers > 1 (docs/workers.md): a forked worker serves until its primary says stop.
      if (cluster.isWorker) return (await import('../workers/run.ts')).runWorker(loaded);
      const predecessor = predecessorPid();
      // Handlers go in before the server prints "ready", so a signal right after it is handled.
      let server: RunningServer | undefined = undefined;
      let stopRequested: ((signal: string) => void) | undefined;
      const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
      // The first SIGTERM/SIGINT drains (transfers in progress may finish, limits.drainTimeoutMs);
      // a second one stops at once.
      let signals = 0;
      const onStop = (signal: string) => {
        signals += 1;
        if (signals === 1) stopRequested?.(signal);
        else server?.endDrain();
      };
      process.on('SIGINT', () => onStop('SIGINT'));
      process.on('SIGTERM', () => onStop('SIGTERM'));
      // SIGHUP: the TLS certificate and the configuration file again (docs/operations.md).
      process.on('SIGHUP', () => void server?.reloadAll(() => configFor(cmd)));
      // SIGUSR2: a restart (an upgrade) without a refused connection: a new process (the code now
      // on disk) takes the listening sockets, and this one drains and exits once it is ready.
      process.on('SIGUSR2', () => {
        if (!server || signals > 0) return;
        void server.handOver().then((r) => {
          if (r.ok && signals === 0) onStop('SIGUSR2'); // drains as on SIGTERM; a SIGTERM now stops at once
        });
      });
      server = workers === 1 ? await startServer(loaded, undefined, { predecessor }) : await (await import('../workers/run.ts')).startPrimary(loaded);
      if (predecessor !== undefined) announceReady();
      const signal = await stopped;
      server.core.logger.info({ signal }, 'stopping');
      await server.stop({ drainMs: loaded.config.limits.drainTimeoutMs });
    });
}
