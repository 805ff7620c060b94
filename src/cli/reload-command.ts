// `portcullis reload`: what SIGHUP does (the TLS certificate and the configuration file read
// again, live keys applied, sessions kept), asked of the running server through its control
// socket, with the outcome printed: the keys applied, those that wait for a restart, or the key
// and the reason a file was refused. Exits 1 when anything was refused.
import type { Command } from 'commander';
import { controlRequest } from '../control/control-client.ts';
import { configFor } from './context.ts';
import { printJson } from './io.ts';

export function registerReloadCommand(program: Command): void {
  program
    .command('reload')
    .description('reload the running server: TLS certificate and configuration file (like SIGHUP); sessions stay')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = configFor(cmd);
      const { reload } = await controlRequest(config.dataDir, { op: 'config.reload' });
      if (!reload) throw new Error('the server sent no reload outcome');
      const refused = reload.configuration?.ok === false || !reload.certificate.ok;
      if (opts.json) printJson(reload);
      else {
        const c = reload.configuration;
        const lines: string[] = [];
        if (c?.ok === false) lines.push(`configuration: refused, the running one stays: ${c.detail}`);
        else if (c) {
          lines.push(`configuration: reloaded; applied now: ${c.applied.length ? c.applied.join(', ') : '(no live key changed)'}`);
          if (c.restartNeeded.length) lines.push(`  changed but applied only after a restart: ${c.restartNeeded.join(', ')}`);
        }
        const t = reload.certificate;
        lines.push(t.ok ? `TLS certificate: SHA256 ${t.fingerprint}, valid until ${t.validTo}` : `TLS certificate: not reloaded, the previous one stays: ${t.detail}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (refused) process.exitCode = 1;
    });
}
