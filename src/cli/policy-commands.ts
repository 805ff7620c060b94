// Operators' tools for the access policy: bans, global allow and deny rules, per-user limits.
// A thin client of admin/policy-service.ts and admin/user-service.ts; running servers pick the
// changes up from the store within access.refreshSeconds.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fingerprintOf, parseFingerprint } from '../auth/mfa/client-certificates.ts';
import { PortcullisError } from '../errors/index.ts';
import { withAdmin } from './admin-context.ts';
import { printJson, printTable } from './io.ts';

const list = (v: string | undefined): string[] => (v ? v.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean) : []);

function registerRuleCommands(program: Command, kind: 'allow' | 'deny'): void {
  const cmd = program.command(kind).description(kind === 'allow' ? 'the global allow list (enforced when access.allowListMode is on)' : 'the global deny list (always enforced; deny wins)');
  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, c: Command) => {
      await withAdmin(c, async ({ services }) => {
        // `source: cli` for rules kept in the store (the name this output has always used)
        const rows = (await services.policy.listRules(kind)).map((r) => ({ cidr: r.cidr, protocols: r.protocols, source: r.source === 'store' ? 'cli' : r.source, comment: r.comment }));
        if (opts.json) return printJson(rows);
        printTable(
          ['CIDR', 'PROTOCOLS', 'SOURCE', 'COMMENT'],
          rows.map((r) => [r.cidr, r.protocols.join(',') || 'all', r.source, r.comment]),
        );
      });
    });
  cmd
    .command('add <cidr>')
    .option('--protocols <list>', 'limit the rule to some protocols: sftp,ftps,admin')
    .option('--comment <text>', 'why the rule exists')
    .action(async (cidr: string, opts: { protocols?: string; comment?: string }, c: Command) => {
      await withAdmin(c, async ({ services, actor }) => {
        const r = await services.policy.addRule(actor, kind, cidr, list(opts.protocols), opts.comment ?? '');
        process.stdout.write(`${kind} ${r.cidr}${r.protocols.length ? ` (${r.protocols.join(',')})` : ''} added\n`);
      });
    });
  cmd.command('remove <cidr>').action(async (cidr: string, _opts, c: Command) => {
    await withAdmin(c, async ({ services, actor }) => {
      process.stdout.write(`${kind} ${await services.policy.removeRule(actor, kind, cidr)} removed\n`);
    });
  });
}

export function registerPolicyCommands(program: Command): void {
  const ban = program.command('ban').description('addresses banned by the defender or by hand');
  ban
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, c: Command) => {
      await withAdmin(c, async ({ services }) => {
        const bans = await services.policy.listBans();
        if (opts.json) return printJson(bans);
        printTable(
          ['ADDRESS', 'UNTIL', 'SOURCE', 'REASON'],
          bans.map((b) => [b.address, b.expiresAt, b.source, b.reason]),
        );
      });
    });
  ban
    .command('add <address>')
    .option('--minutes <n>', 'ban duration (default: defender.banMinutes, doubled for repeat offenders)')
    .option('--reason <text>', 'why', 'banned by an operator')
    .action(async (address: string, opts: { minutes?: string; reason: string }, c: Command) => {
      const minutes = opts.minutes === undefined ? undefined : Number(opts.minutes);
      await withAdmin(c, async ({ services, actor }) => {
        const b = await services.policy.addBan(actor, address, { minutes, reason: opts.reason });
        process.stdout.write(`banned ${b.address} until ${b.expiresAt}\n`);
      });
    });
  ban.command('remove <address>').action(async (address: string, _opts, c: Command) => {
    await withAdmin(c, async ({ services, actor }) => {
      await services.policy.liftBan(actor, address);
      process.stdout.write(`ban on ${address} lifted\n`);
    });
  });
  ban
    .command('export')
    .requiredOption('--format <format>', 'nft')
    .action(async (opts: { format: string }, c: Command) => {
      await withAdmin(c, async ({ services }) => {
        process.stdout.write(await services.policy.exportBans(opts.format as 'nft'));
      });
    });

  registerRuleCommands(program, 'allow');
  registerRuleCommands(program, 'deny');
}

/** `user cert add|list|remove`: TLS client certificates pinned to a user (FTPS second factor). */
export function registerUserCertCommands(user: Command): void {
  const cert = user.command('cert').description('TLS client certificates pinned to a user (FTPS: certificate + password)');
  cert
    .command('add <name> <cert-file-or-sha256>')
    .action(async (name: string, what: string, _opts, c: Command) => {
      const fp = parseFingerprint(what) ?? fingerprintOf(readFileSync(what));
      await withAdmin(c, async ({ services, actor }) => services.users.addCertPin(actor, name, fp));
      process.stdout.write(`pinned certificate SHA256 ${fp} to ${name}\n`);
    });
  cert
    .command('list <name>')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, c: Command) => {
      await withAdmin(c, async ({ services }) => {
        const pins = await services.users.listCertPins(name);
        if (opts.json) return printJson(pins);
        for (const p of pins) process.stdout.write(`${p}\n`);
      });
    });
  cert.command('remove <name> <sha256>').action(async (name: string, what: string, _opts, c: Command) => {
    const fp = await withAdmin(c, async ({ services, actor }) => services.users.removeCertPin(actor, name, what));
    process.stdout.write(`removed certificate ${fp} from ${name}\n`);
  });
}

/** `user set NAME`: per-user access restrictions. */
export function registerUserPolicyCommand(user: Command): void {
  user
    .command('set <name>')
    .description("set a user's access restrictions")
    .option('--allow-from <cidrs>', 'comma-separated addresses/CIDRs the user may log in from ("" clears)')
    .option('--deny-from <cidrs>', 'comma-separated addresses/CIDRs the user may never log in from (wins over allow; "" clears)')
    .option('--hours <spec>', 'access window in server time, e.g. "mon-fri 08:00-18:00" ("" clears)')
    .option('--max-sessions <n>', 'simultaneous sessions (0: the global limit)')
    .option('--mfa <mode>', 'required (always a second factor), optional (never required), default (follow mfa.required)')
    .option('--disable', 'refuse every login')
    .option('--enable', 'allow logins again')
    .action(async (name: string, opts: { allowFrom?: string; denyFrom?: string; hours?: string; maxSessions?: string; mfa?: string; disable?: boolean; enable?: boolean }, c: Command) => {
      if (opts.mfa !== undefined && !['required', 'optional', 'default'].includes(opts.mfa)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', '--mfa must be required, optional or default');
      const cidrs = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean));
      const maxSessions = opts.maxSessions === undefined ? undefined : Number(opts.maxSessions);
      const changes = {
        allowedCidrs: cidrs(opts.allowFrom),
        deniedCidrs: cidrs(opts.denyFrom),
        accessHours: opts.hours,
        maxSessions,
        mfaRequired: opts.mfa === undefined ? undefined : opts.mfa === 'default' ? null : opts.mfa === 'required',
        disabled: opts.disable ? true : opts.enable ? false : undefined,
      };
      await withAdmin(c, async ({ services, actor }) => {
        const u = await services.users.update(actor, name, changes);
        process.stdout.write(`${u.name}: allow-from ${u.allowedCidrs.join(',') || 'any'}; deny-from ${u.deniedCidrs.join(',') || 'none'}; hours ${u.accessHours || 'any'}; max-sessions ${u.maxSessions || 'global'}; mfa ${u.mfaRequired === null ? 'default' : u.mfaRequired ? 'required' : 'optional'}; ${u.disabled ? 'disabled' : 'enabled'}\n`);
      });
    });
}
