// Live sessions of the running server, through its control socket (DATADIR/control.sock).
import type { Command } from 'commander';
import { cliActor } from '../admin/actor.ts';
import { ControlSocketSessions } from '../control/control-client.ts';
import { configFor } from './context.ts';
import { printJson, printTable } from './io.ts';

function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

// eslint-disable-next-line no-control-regex
const clean = (s: string) => s.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');

export function registerSessionCommands(program: Command): void {
  const sessions = program.command('sessions').description('live connections and sessions of the running server');
  sessions
    .command('list')
    .description('user, address, protocol, since when, and the transfer in progress')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = configFor(cmd);
      const list = await new ControlSocketSessions(config.dataDir).list();
      if (opts.json) return printJson(list);
      printTable(
        ['ID', 'USER', 'ADDRESS', 'PROTOCOL', 'SINCE', 'TRANSFER'],
        list.map((s) => [s.id, s.user ?? '(not logged in)', s.address, s.protocol, `${s.since} (${ago(s.since)})`, s.transfer ? `${s.transfer.direction} ${s.transfer.path} ${s.transfer.bytes} bytes` : '-'].map(clean)),
      );
    });
  sessions
    .command('kill <id>')
    .description('end a live connection (its id from `sessions list`, or a unique prefix); audited')
    .action(async (id: string, _opts, cmd: Command) => {
      const { config } = configFor(cmd);
      const k = await new ControlSocketSessions(config.dataDir).kill(cliActor(), id);
      process.stdout.write(clean(`killed ${k.id} (${k.user ?? 'not logged in'} from ${k.address}, ${k.protocol})\n`));
    });
}
