// Operators' tools for the access policy: bans, global allow and deny rules, per-user limits.
// Changes go to the store; running servers pick them up within access.refreshSeconds.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { openStoreAndAudit } from '../store/open-store.ts';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/schema.ts';
import { PortcullisError } from '../errors/index.ts';
import { fingerprintOf, parseFingerprint } from '../auth/mfa/client-certificates.ts';
import { parseAccessHours } from '../policy/access-hours.ts';
import { Defender } from '../policy/defender.ts';
import { parseCidr } from '../policy/ip-matcher.ts';
import { formatNftBans } from '../policy/nft-export.ts';
import type { Store } from '../store/store.ts';
import { configFor } from './context.ts';
import { printJson, printTable } from './io.ts';

async function withStore<T>(cmd: Command, fn: (store: Store, audit: Audit, config: Config) => Promise<T>): Promise<T> {
  const { config } = configFor(cmd);
  const base = await openStoreAndAudit(config);
  try {
    return await fn(base.store, base.audit, config);
  } finally {
    await base.close();
  }
}

const PROTOCOLS = ['sftp', 'ftps', 'admin'];

function parseProtocols(list: string | undefined): string[] {
  if (!list) return [];
  const out = list.split(',').map((p) => p.trim().toLowerCase());
  for (const p of out) if (!PROTOCOLS.includes(p)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', `unknown protocol "${p}" (use ${PROTOCOLS.join(', ')})`);
  return out;
}

function registerRuleCommands(program: Command, kind: 'allow' | 'deny'): void {
  const cmd = program.command(kind).description(kind === 'allow' ? 'the global allow list (enforced when access.allowListMode is on)' : 'the global deny list (always enforced; deny wins)');
  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, c: Command) => {
      await withStore(c, async (store, _audit, config) => {
        const fromConfig = config.access[kind].map((e) => (typeof e === 'string' ? { cidr: e, protocols: [] as string[] } : { cidr: e.cidr, protocols: e.protocols ?? [] }));
        const rows = [...fromConfig.map((r) => ({ ...r, source: 'config', comment: '' })), ...(await store.policy.listRules(kind)).map((r) => ({ cidr: r.cidr, protocols: r.protocols, source: 'cli', comment: r.comment }))];
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
      const parsed = parseCidr(cidr);
      const protocols = parseProtocols(opts.protocols);
      await withStore(c, async (store, audit) => {
        await store.policy.addRule(kind, parsed.text, protocols, (opts.comment ?? '').slice(0, 200));
        audit.emit({ type: 'policy.rule.changed', protocol: 'cli', action: 'added', kind, cidr: parsed.text });
        process.stdout.write(`${kind} ${parsed.text}${protocols.length ? ` (${protocols.join(',')})` : ''} added\n`);
      });
    });
  cmd.command('remove <cidr>').action(async (cidr: string, _opts, c: Command) => {
    const parsed = parseCidr(cidr);
    await withStore(c, async (store, audit) => {
      await store.policy.removeRule(kind, parsed.text);
      audit.emit({ type: 'policy.rule.changed', protocol: 'cli', action: 'removed', kind, cidr: parsed.text });
      process.stdout.write(`${kind} ${parsed.text} removed\n`);
    });
  });
}

export function registerPolicyCommands(program: Command): void {
  const ban = program.command('ban').description('addresses banned by the defender or by hand');
  ban
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, c: Command) => {
      await withStore(c, async (store) => {
        const bans = await store.policy.activeBans();
        if (opts.json) return printJson(bans.map(({ id: _id, ...b }) => b));
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
      const parsed = parseCidr(address);
      if (!/\/(32|128)$/.test(parsed.text)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', 'ban one address; use `deny add CIDR` for ranges');
      const minutes = opts.minutes === undefined ? undefined : Number(opts.minutes);
      if (minutes !== undefined && !(minutes > 0 && minutes <= 525_600)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', '--minutes must be between 1 and 525600');
      await withStore(c, async (store, audit, config) => {
        const defender = new Defender({ ...config.defender, enabled: false }, store.policy, audit);
        const b = await defender.ban(parsed.address, opts.reason.slice(0, 200), 'cli', minutes);
        process.stdout.write(`banned ${b.address} until ${b.expiresAt}\n`);
      });
    });
  ban.command('remove <address>').action(async (address: string, _opts, c: Command) => {
    const parsed = parseCidr(address);
    await withStore(c, async (store, audit, config) => {
      const defender = new Defender({ ...config.defender, enabled: false }, store.policy, audit);
      if ((await defender.lift(parsed.address)) === 0) throw new PortcullisError('ERR_POLICY_NOT_BANNED', parsed.address);
      process.stdout.write(`ban on ${parsed.address} lifted\n`);
    });
  });
  ban
    .command('export')
    .requiredOption('--format <format>', 'nft')
    .action(async (opts: { format: string }, c: Command) => {
      if (opts.format !== 'nft') throw new PortcullisError('ERR_POLICY_INVALID_RULE', `unknown export format "${opts.format}" (use nft)`);
      await withStore(c, async (store) => {
        process.stdout.write(formatNftBans(await store.policy.activeBans()));
      });
    });

  registerRuleCommands(program, 'allow');
  registerRuleCommands(program, 'deny');
}

/** `user cert add|list|remove`: TLS client certificates pinned to a user (FTPS second factor). */
export function registerUserCertCommands(user: Command): void {
  const cert = user.command('cert').description('TLS client certificates pinned to a user (FTPS: certificate + password)');
  const update = async (c: Command, name: string, fn: (pins: string[]) => string[]) =>
    withStore(c, async (store, audit) => {
      const u = await store.users.require(name);
      const pins = fn(u.clientCertPins);
      await store.users.update(name, { clientCertPins: pins });
      audit.emit({ type: 'user.changed', protocol: 'cli', action: 'policy-changed', subject: name, detail: 'client certificates' });
      return pins;
    });
  cert
    .command('add <name> <cert-file-or-sha256>')
    .action(async (name: string, what: string, _opts, c: Command) => {
      const fp = parseFingerprint(what) ?? fingerprintOf(readFileSync(what));
      await update(c, name, (pins) => {
        if (pins.includes(fp)) throw new PortcullisError('ERR_KEY_EXISTS', fp);
        return [...pins, fp];
      });
      process.stdout.write(`pinned certificate SHA256 ${fp} to ${name}\n`);
    });
  cert
    .command('list <name>')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, c: Command) => {
      await withStore(c, async (store) => {
        const pins = (await store.users.require(name)).clientCertPins;
        if (opts.json) return printJson(pins);
        for (const p of pins) process.stdout.write(`${p}\n`);
      });
    });
  cert.command('remove <name> <sha256>').action(async (name: string, what: string, _opts, c: Command) => {
    const fp = parseFingerprint(what);
    if (!fp) throw new PortcullisError('ERR_KEY_INVALID', 'give the SHA-256 fingerprint shown by `user cert list`');
    await update(c, name, (pins) => {
      if (!pins.includes(fp)) throw new PortcullisError('ERR_KEY_NOT_FOUND', fp);
      return pins.filter((p) => p !== fp);
    });
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
      const mfaRequired = opts.mfa === undefined ? undefined : opts.mfa === 'default' ? null : opts.mfa === 'required';
      const cidrs = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean).map((x) => parseCidr(x).text));
      if (opts.hours) parseAccessHours(opts.hours);
      const maxSessions = opts.maxSessions === undefined ? undefined : Number(opts.maxSessions);
      if (maxSessions !== undefined && !(Number.isInteger(maxSessions) && maxSessions >= 0)) throw new PortcullisError('ERR_POLICY_INVALID_RULE', '--max-sessions must be a whole number >= 0');
      const changes = { allowedCidrs: cidrs(opts.allowFrom), deniedCidrs: cidrs(opts.denyFrom), accessHours: opts.hours, maxSessions, mfaRequired, disabled: opts.disable ? true : opts.enable ? false : undefined };
      await withStore(c, async (store, audit) => {
        await store.users.update(name, changes);
        audit.emit({ type: 'user.changed', protocol: 'cli', action: 'policy-changed', subject: name, detail: Object.keys(opts).join(',') });
        const u = await store.users.require(name);
        process.stdout.write(`${u.name}: allow-from ${u.allowedCidrs.join(',') || 'any'}; deny-from ${u.deniedCidrs.join(',') || 'none'}; hours ${u.accessHours || 'any'}; max-sessions ${u.maxSessions || 'global'}; mfa ${u.mfaRequired === null ? 'default' : u.mfaRequired ? 'required' : 'optional'}; ${u.disabled ? 'disabled' : 'enabled'}\n`);
      });
    });
}
