import type { Command } from 'commander';
import type { Config } from '../config/schema.ts';
import { openStoreAndAudit } from '../store/open-store.ts';
import { UserAdmin } from '../users/user-admin.ts';
import { configFor } from './context.ts';
import { registerUserCertCommands, registerUserPolicyCommand } from './policy-commands.ts';
import { printJson, printTable, readStdinSecret } from './io.ts';

async function withUsers<T>(cmd: Command, fn: (admin: UserAdmin, store: Awaited<ReturnType<typeof openStoreAndAudit>>['store'], config: Config) => Promise<T>): Promise<T> {
  const { config } = configFor(cmd);
  const base = await openStoreAndAudit(config);
  try {
    return await fn(new UserAdmin(base.store, base.audit, config.dataDir), base.store, config);
  } finally {
    await base.close();
  }
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage users and their keys');

  user
    .command('add <name>')
    .description('add a user (password from stdin and/or a public key)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--key <pubkey-file>', 'an OpenSSH public key file (.pub) for SFTP key login')
    .option('--home <dir>', 'home directory (default: DATADIR/home/NAME)')
    .option('--read-only', 'may list and download only')
    .action(async (name: string, opts: { passwordStdin?: boolean; key?: string; home?: string; readOnly?: boolean }, cmd: Command) => {
      const password = opts.passwordStdin ? await readStdinSecret('password') : undefined;
      await withUsers(cmd, async (admin) => {
        const u = await admin.add(name, { password, keyFile: opts.key, home: opts.home, readOnly: opts.readOnly });
        process.stdout.write(`added user ${u.name} (home ${u.home}${opts.readOnly ? ', read-only' : ''})\n`);
      });
    });

  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withUsers(cmd, async (_admin, store, config) => {
        const users = await store.users.list();
        const now = new Date();
        const rows = await Promise.all(
          users.map(async (u) => {
            const totp = await store.mfa.totp(u.id);
            const mfa = {
              // the user's own setting, else mfa.required
              required: u.mfaRequired ?? config.mfa.required,
              enrolled: totp?.status === 'active' ? 'yes' : totp ? 'pending' : 'no',
              lockedUntil: await store.mfa.lockedUntil(u.id, now),
            };
            return { name: u.name, home: u.home, permissions: u.permissions, disabled: u.disabled, password: u.passwordHash !== null, keys: (await store.keys.list(u.id)).length, mfa, createdAt: u.createdAt, updatedAt: u.updatedAt };
          }),
        );
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
      await withUsers(cmd, async (admin) => {
        await admin.remove(name);
        process.stdout.write(`removed user ${name}\n`);
      });
    });

  user
    .command('passwd <name>')
    .description("set a user's password from standard input")
    .requiredOption('--password-stdin', 'read the password from standard input')
    .action(async (name: string, _opts, cmd: Command) => {
      const password = await readStdinSecret('password');
      await withUsers(cmd, async (admin) => {
        await admin.setPassword(name, password);
        process.stdout.write(`password changed for ${name}\n`);
      });
    });

  registerUserPolicyCommand(user);
  registerUserCertCommands(user);

  const key = user.command('key').description("manage a user's SSH public keys");
  key
    .command('add <name> <pubkey-file>')
    .description('add an OpenSSH public key')
    .action(async (name: string, file: string, _opts, cmd: Command) => {
      await withUsers(cmd, async (admin) => {
        const k = await admin.addKey(name, file);
        process.stdout.write(`added ${k.algorithm} key ${k.fingerprint} for ${name}\n`);
      });
    });
  key
    .command('list <name>')
    .description("list a user's keys")
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withUsers(cmd, async (admin) => {
        const keys = await admin.listKeys(name);
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
      await withUsers(cmd, async (admin) => {
        const k = await admin.removeKey(name, which);
        process.stdout.write(`removed key ${k.fingerprint} from ${name}\n`);
      });
    });
}
