import type { Command } from 'commander';
import { startServer, type RunningServer } from '../server.ts';
import { configFor } from './context.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server (SFTP, FTPS) with the configuration')
    .action(async (_opts, cmd: Command) => {
      const loaded = configFor(cmd);
      // Handlers go in before the server prints "ready", so a signal right after it is handled.
      let server: RunningServer | undefined = undefined;
      let stopRequested: ((signal: string) => void) | undefined;
      const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
      process.once('SIGINT', () => stopRequested?.('SIGINT'));
      process.once('SIGTERM', () => stopRequested?.('SIGTERM'));
      // SIGHUP: the TLS certificate and the configuration file again (docs/operations.md).
      process.on('SIGHUP', () => server?.reload(() => configFor(cmd)));
      server = await startServer(loaded);
      const signal = await stopped;
      server.core.logger.info({ signal }, 'stopping');
      await server.stop();
    });
}
