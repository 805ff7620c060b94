// `portcullis user …`: a thin client of admin/user-service.ts.
import type { Command } from 'commander';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import { readArgFile, withAdmin } from './admin-context.ts';
import { registerUserCertCommands, registerUserPolicyCommand } from './policy-commands.ts';
import { printJson, printTable, readStdinSecret } from './io.ts';

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage users and their keys');

  user
    .command('add <name>')
    .description('add a user (password from stdin and/or a public key)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--key <pubkey-file>', 'an OpenSSH public key file (.pub) for SFTP key login')
    .option('--home <dir>', 'home directory (default: DATADIR/home/NAME)')
    .option('--read-only', 'may list and download only')
    .option('--invited', 'no password or key: the user sets them from a portal invitation (`portcullis user invite NAME`)')
    .action(async (name: string, opts: { passwordStdin?: boolean; key?: string; home?: string; readOnly?: boolean; invited?: boolean }, cmd: Command) => {
      // the service refuses this too; said here in the CLI's own words
      if (!opts.passwordStdin && opts.key === undefined && !opts.invited) throw new PortcullisError('ERR_PASSWORD_INVALID', 'give --password-stdin or --key (a user needs a way to log in), or --invited to let them set one from a portal invitation');
      const password = opts.passwordStdin ? await readStdinSecret('password') : undefined;
      const publicKey = opts.key !== undefined ? readArgFile(opts.key, 'ERR_KEY_INVALID') : undefined;
      await withAdmin(cmd, async ({ services, actor }) => {
        const u = await services.users.create(actor, name, { password, publicKey, home: opts.home, readOnly: opts.readOnly, invited: opts.invited && !password && !publicKey });
        process.stdout.write(`added user ${u.name} (home ${u.home}${opts.readOnly ? ', read-only' : ''}${opts.invited ? '; send an invitation: portcullis user invite ' + u.name : ''})\n`);
      });
    });

  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, async ({ services, config }) => {
        const rows = await services.users.summaries(config.mfa.required);
        if (opts.json) return printJson(rows);
        const mfaText = (m: (typeof rows)[number]['mfa']): string =>
          `${m.required ? 'required' : 'optional'}, ${m.enrolled === 'yes' ? 'enrolled' : m.enrolled === 'pending' ? 'enrolment pending' : 'not enrolled'}${m.lockedUntil ? `, locked until ${m.lockedUntil}` : ''}`;
        printTable(
          ['NAME', 'PASSWORD', 'KEYS', 'MFA', 'ACCESS', 'HOME'],
          rows.map((r) => [r.name, r.password ? 'yes' : 'no', String(r.keys), mfaText(r.mfa), r.disabled ? 'disabled' : r.permissions.includes('upload') ? 'read-write' : 'read-only', r.home]),
        );
      });
    });

  user
    .command('remove <name>')
    .description('remove a user (their files stay on disk)')
    .action(async (name: string, _opts, cmd: Command) => {
      await withAdmin(cmd, async ({ services, actor }) => {
        await services.users.remove(actor, name);
        process.stdout.write(`removed user ${name}\n`);
      });
    });

  user
    .command('passwd <name>')
    .description("set a user's password from standard input")
    .requiredOption('--password-stdin', 'read the password from standard input')
    .action(async (name: string, _opts, cmd: Command) => {
      const password = await readStdinSecret('password');
      await withAdmin(cmd, async ({ services, actor }) => {
        await services.users.setPassword(actor, name, password);
        process.stdout.write(`password changed for ${name}\n`);
      });
    });

  user
    .command('invite <name>')
    .description('a one-time portal link for the user to set a password and enrol MFA (any earlier link stops working)')
    .option('--days <n>', 'days the link stays valid', String(LIMITS.migrate.inviteDays.default))
    .option('--json', 'print {"user", "link", "expiresAt"}')
    .action(async (name: string, opts: { days: string; json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, async ({ services, actor, config }) => {
        const { portalLink } = await import('../web/portal-link.ts');
        const inv = await services.invitations.create(name, Number(opts.days), new Date(), actor);
        const link = portalLink(config, inv.token);
        if (opts.json) return printJson({ user: inv.user, link, expiresAt: inv.expiresAt });
        process.stdout.write(`${link}\n`);
        process.stderr.write(`invitation for ${inv.user}, valid once until ${inv.expiresAt}: send the link through a channel you trust${config.portal.enabled ? '' : ' (the portal is off: set portal.enabled: true)'}\n`);
      });
    });

  registerUserPolicyCommand(user);
  registerUserCertCommands(user);

  const key = user.command('key').description("manage a user's SSH public keys");
  key
    .command('add <name> <pubkey-file>')
    .description('add an OpenSSH public key')
    .action(async (name: string, file: string, _opts, cmd: Command) => {
      const publicKey = readArgFile(file, 'ERR_KEY_INVALID');
      await withAdmin(cmd, async ({ services, actor }) => {
        const k = await services.users.addKey(actor, name, publicKey);
        process.stdout.write(`added ${k.algorithm} key ${k.fingerprint} for ${name}\n`);
      });
    });
  key
    .command('list <name>')
    .description("list a user's keys")
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, async ({ services }) => {
        const keys = await services.users.listKeys(name);
        if (opts.json) return printJson(keys.map((k, i) => ({ index: i + 1, algorithm: k.algorithm, fingerprint: k.fingerprint, comment: k.comment, createdAt: k.createdAt })));
        printTable(
          ['#', 'TYPE', 'FINGERPRINT', 'COMMENT'],
          keys.map((k, i) => [String(i + 1), k.algorithm, k.fingerprint, k.comment]),
        );
      });
    });
  key
    .command('remove <name> <fingerprint-or-index>')
    .description('remove a key by fingerprint (SHA256:...) or by its number in `key list`')
    .action(async (name: string, which: string, _opts, cmd: Command) => {
      await withAdmin(cmd, async ({ services, actor }) => {
        const k = await services.users.removeKey(actor, name, which);
        process.stdout.write(`removed key ${k.fingerprint} from ${name}\n`);
      });
    });
}
