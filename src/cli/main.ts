// The `portcullis` command line. Every command takes --config; bad input prints one clear
// line on stderr and exits non-zero.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isPortcullisError } from '../errors/index.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerConfigCommands } from './config-commands.ts';
import { registerMfaCommands } from './mfa-commands.ts';
import { registerPolicyCommands } from './policy-commands.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerSessionCommands } from './session-commands.ts';
import { registerScanCommand } from '../scanner/cli.ts';
import { registerPostureCommand } from '../posture/cli.ts';
import { registerMigrateCommands } from '../migrate/cli.ts';
import { registerUserCommands } from './user-commands.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('Secure file-transfer server: SFTP and FTPS with MFA, access restriction, audit and a scanner')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <file>', 'configuration file (default: ./portcullis.yaml if present, else built-in defaults)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServeCommand(program);
  registerUserCommands(program);
  registerMfaCommands(program);
  registerPolicyCommands(program);
  registerConfigCommands(program);
  registerAuditCommands(program);
  registerSessionCommands(program);
  registerScanCommand(program);
  registerPostureCommand(program);
  registerMigrateCommands(program);
  return program;
}

// `portcullis user list | head` closes our stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isPortcullisError(err)) {
      process.stderr.write(`portcullis: ${err.message} [${err.code}]\n`);
      return err.code === 'ERR_CONFIG_INVALID' || err.code === 'ERR_CONFIG_UNREADABLE' ? 2 : 1;
    }
    process.stderr.write(`portcullis: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

const code = await main(process.argv);
if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
