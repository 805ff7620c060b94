// The `portcullis` command line. Every command takes --config; bad input prints one clear
// line on stderr and exits non-zero.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isPortcullisError } from '../errors/index.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type Register = (program: Command) => void;

/**
 * Each top-level command and the module that registers it, loaded only when that command runs
 * (a CLI call pays for its own dependencies, not for the scanner's, the server's and the store's
 * all at once). Help and unknown commands load every row.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve-command.ts')).registerServeCommand,
  user: async () => (await import('./user-commands.ts')).registerUserCommands,
  mfa: async () => (await import('./mfa-commands.ts')).registerMfaCommands,
  ban: async () => (await import('./policy-commands.ts')).registerPolicyCommands,
  config: async () => (await import('./config-commands.ts')).registerConfigCommands,
  audit: async () => (await import('./audit-commands.ts')).registerAuditCommands,
  sessions: async () => (await import('./session-commands.ts')).registerSessionCommands,
  scan: async () => (await import('../scanner/cli.ts')).registerScanCommand,
  posture: async () => (await import('../posture/cli.ts')).registerPostureCommand,
  doctor: async () => (await import('../doctor/cli.ts')).registerDoctorCommand,
  migrate: async () => (await import('../migrate/cli.ts')).registerMigrateCommands,
  invite: async () => (await import('./invite-commands.ts')).registerInviteCommands,
  admin: async () => (await import('./admin-commands.ts')).registerAdminCommands,
  reload: async () => (await import('./reload-command.ts')).registerReloadCommand,
};
/** Exit code of a usage error (bad option), where a command's codes give 2 another meaning:
 * doctor's 2 means "problems", so its own failure is 3 (docs/doctor.md). */
const USAGE_EXIT: Record<string, number> = { doctor: 3 };
/** Commands registered by another row's module. */
const ALIASES: Record<string, string> = { allow: 'ban', deny: 'ban' };

/** The first argument that is not an option (or an option's value): the command name. */
function commandName(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--config') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a;
  }
  return undefined;
}

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command('portcullis')
    .description('Secure file-transfer server: SFTP and FTPS with MFA, access restriction, audit and a scanner')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <file>', 'configuration file (default: ./portcullis.yaml if present, else built-in defaults)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const name = commandName(argv);
  const row = name === undefined ? undefined : (COMMANDS[name] ? name : ALIASES[name]);
  const versionOnly = name === undefined && argv.slice(2).some((a) => a === '-V' || a === '--version');
  const loaders = row ? [COMMANDS[row]!] : versionOnly ? [] : Object.values(COMMANDS);
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program);
  return program;
}

// `portcullis user list | head` closes our stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : (USAGE_EXIT[commandName(argv) ?? ''] ?? 2);
    if (isPortcullisError(err)) {
      process.stderr.write(`portcullis: ${err.message} [${err.code}]\n`);
      return err.code === 'ERR_CONFIG_INVALID' || err.code === 'ERR_CONFIG_UNREADABLE' ? 2 : 1;
    }
    process.stderr.write(`portcullis: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

/** Commands that run until stopped; every other command has finished its work when main returns. */
const STAYS_RUNNING = new Set(['serve']);

const code = await main(process.argv);
if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
// A one-shot command has closed everything it opened by now: exit once stdout and stderr are
// flushed instead of letting V8 tear the heap down (about 20 ms of a 230 ms `user list`).
if (!STAYS_RUNNING.has(commandName(process.argv) ?? '')) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit()));
}
