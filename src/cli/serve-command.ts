import type { Command } from 'commander';
import { startServer } from '../server.ts';
import { configFor } from './context.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server (SFTP, FTPS) with the configuration')
    .action(async (_opts, cmd: Command) => {
      const loaded = configFor(cmd);
      const server = await startServer(loaded);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          server.core.logger.info({ signal }, 'stopping');
          server.stop().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGHUP', () => server.reload());
      });
    });
}
