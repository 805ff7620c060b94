// `portcullis admin token create|list|revoke`: REST API tokens (admin/token-service.ts).
// `portcullis admin account create|list|disable|enable`: operators of the web admin (docs/web.md).
import type { Command } from 'commander';
import { parseScopes, SCOPES } from '../admin/token-service.ts';
import { withAdmin } from './admin-context.ts';
import { printJson, printTable, readStdinSecret } from './io.ts';

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('the management plane: REST API tokens and web admin accounts');
  const account = admin.command('account').description('operators of the web admin (password + TOTP; no default account exists)');
  account
    .command('create <name>')
    .description('create an admin account; prints its TOTP secret once (add it to an authenticator app)')
    .option('--role <role>', 'full (every action) or auditor (read-only)', 'full')
    .requiredOption('--password-stdin', 'read the password (at least 12 characters) from standard input')
    .option('--json', 'print {"name", "role", "totpSecret", "totpUri", ...}')
    .action(async (name: string, opts: { role: string; json?: boolean }, c: Command) => {
      const password = await readStdinSecret('password');
      await withAdmin(c, async ({ services, actor }) => {
        const created = await services.admins.create(actor, name, opts.role, password);
        if (opts.json) return printJson(created);
        process.stdout.write(
          `admin ${created.name} (${created.role}) created. Add this secret to an authenticator app now; it is not shown again:\n  secret: ${created.totpSecret}\n  uri:    ${created.totpUri}\n`,
        );
      });
    });
  account
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, c: Command) => {
      await withAdmin(c, async ({ services }) => {
        const admins = await services.admins.list();
        if (opts.json) return printJson(admins);
        printTable(['NAME', 'ROLE', 'STATE', 'CREATED', 'BY'], admins.map((a) => [a.name, a.role, a.disabled ? 'disabled' : a.lockedUntil && Date.parse(a.lockedUntil) > Date.now() ? `locked until ${a.lockedUntil}` : 'active', a.createdAt, a.createdBy]));
      });
    });
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    account
      .command(`${verb} <name>`)
      .description(disabled ? 'refuse the account’s sign-ins and end its browser sessions' : 'allow the account to sign in again')
      .action(async (name: string, _opts, c: Command) => {
        await withAdmin(c, async ({ services, actor }) => {
          await services.admins.setDisabled(actor, name, disabled);
          process.stdout.write(`admin ${name} ${verb}d\n`);
        });
      });
  }
  const token = admin.command('token').description('REST API tokens (shown once, stored as keyed hashes)');
  token
    .command('create <name>')
    .description('create a token; it is printed once and cannot be shown again')
    .requiredOption('--scope <list>', `comma-separated scopes: ${SCOPES.join(', ')}`)
    .option('--expires <days>', 'valid for this many days (default: until revoked)')
    .option('--from <cidrs>', 'comma-separated addresses/CIDRs the token may be used from (default: any)')
    .option('--json', 'print {"token", "id", ...}')
    .action(async (name: string, opts: { scope: string; expires?: string; from?: string; json?: boolean }, c: Command) => {
      const scopes = parseScopes(opts.scope);
      const sources = opts.from ? opts.from.split(',').map((s) => s.trim()).filter(Boolean) : [];
      await withAdmin(c, async ({ services, actor }) => {
        const { token: secret, view } = await services.tokens.create(actor, name, { scopes, sources, expiresDays: opts.expires === undefined ? undefined : Number(opts.expires) });
        if (opts.json) return printJson({ token: secret, ...view });
        process.stdout.write(`${secret}\n`);
        process.stderr.write(`token ${view.name} (${view.id}) created with ${view.scopes.join(',')}${view.expiresAt ? `, expires ${view.expiresAt}` : ''}${view.sources.length ? `, from ${view.sources.join(',')}` : ''}: store it now, it is not shown again\n`);
      });
    });
  token
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, c: Command) => {
      await withAdmin(c, async ({ services }) => {
        const tokens = await services.tokens.list();
        if (opts.json) return printJson(tokens);
        printTable(
          ['NAME', 'ID', 'SCOPES', 'FROM', 'EXPIRES', 'STATE', 'LAST USED'],
          tokens.map((t) => [t.name, t.id, t.scopes.join(','), t.sources.join(',') || 'any', t.expiresAt ?? 'never', t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active', t.lastUsedAt ?? '-']),
        );
      });
    });
  token
    .command('revoke <name-or-id>')
    .description('revoke an active token at once (every node: the store is checked on each request)')
    .action(async (which: string, _opts, c: Command) => {
      await withAdmin(c, async ({ services, actor }) => {
        const t = await services.tokens.revoke(actor, which);
        process.stdout.write(`token ${t.name} (${t.id}) revoked\n`);
      });
    });
}
