// `portcullis invite …`: one-time enrolment invitations (users imported from IIS have none of
// their old passwords): create or re-issue one, and redeem one to set a password.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { LIMITS } from '../config/limits.ts';
import { invitationServiceFor } from '../migrate/import-admin.ts';
import { openStoreAndAudit } from '../store/open-store.ts';
import { configFor } from './context.ts';
import { printJson, readStdinSecret } from './io.ts';

const days = (v: string): number => {
  const n = Number(v);
  const { min, ceiling } = LIMITS.migrate.inviteDays;
  if (!Number.isInteger(n) || n < min || n > ceiling) throw new InvalidArgumentError(`--days must be a whole number from ${min} to ${ceiling}`);
  return n;
};

export function registerInviteCommands(program: Command): void {
  const invite = program.command('invite').description('one-time enrolment invitations: a user sets their own password');
  invite
    .command('create <user>')
    .description('issue a new invitation for a user (any unused one stops working); prints the token once')
    .option('--days <n>', 'days the invitation stays valid', days, LIMITS.migrate.inviteDays.default)
    .option('--json', 'print {"user", "token", "expiresAt"}')
    .action(async (name: string, opts: { days: number; json?: boolean }, cmd: Command) => {
      const { config } = configFor(cmd);
      const base = await openStoreAndAudit(config);
      try {
        const inv = await invitationServiceFor(base.store, base.audit, config).create(name, opts.days);
        if (opts.json) return printJson(inv);
        process.stdout.write(`invitation for ${inv.user} (expires ${inv.expiresAt}; shown once):\n  portcullis invite accept ${inv.token} --password-stdin\n`);
      } finally {
        await base.close();
      }
    });
  invite
    .command('accept <token>')
    .description('redeem an invitation: set the password (from standard input); then enrol MFA with `portcullis mfa enroll USER`')
    .requiredOption('--password-stdin', 'read the new password from standard input')
    .action(async (token: string, _opts, cmd: Command) => {
      const password = await readStdinSecret('new password');
      const { config } = configFor(cmd);
      const base = await openStoreAndAudit(config);
      try {
        const user = await invitationServiceFor(base.store, base.audit, config).accept(token.trim(), password);
        const mfa = user.mfaRequired ?? config.mfa.required;
        process.stdout.write(`password set for ${user.name}.${mfa ? ` MFA is required: enrol with \`portcullis mfa enroll ${user.name}\` before the first login.` : ''}\n`);
      } finally {
        await base.close();
      }
    });
}
