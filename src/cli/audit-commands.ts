// The audit trail from the command line: `audit verify` proves the trail was not edited,
// `audit search` and `logins` answer "who logged in from where, and what did they take".
import type { Command } from 'commander';
import { openStoreAndAudit } from '../store/open-store.ts';
import { AuditService, assertLimit } from '../admin/audit-service.ts';
import { PortcullisError } from '../errors/index.ts';
import { configFor } from './context.ts';
import { printJson, printTable } from './io.ts';

function parseLimit(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : assertLimit(Number(value));
}

async function withReadOnlyStore<T>(cmd: Command, fn: (audit: AuditService) => Promise<T>): Promise<T> {
  const { config } = configFor(cmd);
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  try {
    return await fn(new AuditService(base.store, config));
  } finally {
    await base.close();
  }
}

// SECURITY: user names, paths and reasons are attacker-chosen: no control characters reach a terminal.
// eslint-disable-next-line no-control-regex
const clean = (s: string) => s.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');

/** One line per record for people: time, event, user, address, then the details. */
function describe(r: Record<string, unknown>): string[] {
  const skip = new Set(['ts', 'event', 'type', 'user', 'remoteAddress', 'protocol', 'seq', 'prev', 'hash', 'connectionId', 'sessionId']);
  const detail = Object.entries(r)
    .filter(([k, v]) => !skip.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const text = (v: unknown) => (typeof v === 'string' ? v : '-');
  return [text(r.ts), text(r.event), text(r.user), text(r.remoteAddress), text(r.protocol), detail].map(clean);
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');

  audit
    .command('verify')
    .description('check the hash chain of every audit file and of the store; exit 1 and name the break if anything was edited, deleted, reordered or truncated')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withReadOnlyStore(cmd, async (audit) => {
        const report = await audit.verify();
        const problems = [...(report.files?.problems ?? []), ...(report.store?.problems ?? [])];
        if (opts.json) {
          printJson(report);
          if (!report.ok) process.exitCode = 1;
          return;
        }
        if (report.files) process.stdout.write(`files: ${report.files.records} records, last seq ${report.files.last.seq}\n`);
        if (report.store) process.stdout.write(`store: ${report.store.records} records, chain head seq ${report.head?.seq ?? 0}\n`);
        for (const n of report.notes) process.stdout.write(`note: ${n}\n`);
        for (const p of problems) process.stdout.write(`BROKEN ${p.kind}: ${p.message}\n`);
        if (!report.ok) throw new PortcullisError('ERR_AUDIT_CHAIN_BROKEN', `first break: ${problems[0]!.message}`);
        process.stdout.write('audit trail intact\n');
      });
    });

  audit
    .command('search')
    .description('search the audit records kept in the store (oldest first)')
    .option('--user <name>', 'records of this user')
    .option('--ip <address>', 'records from this address')
    .option('--event <pattern>', 'event name: a prefix (auth.) or a glob (file.*.failed)')
    .option('--since <when>', 'a duration before now (30m, 24h, 7d) or a date')
    .option('--until <when>', 'a duration before now or a date')
    .option('--limit <n>', 'newest records at most (default 1000)')
    .option('--json', 'print JSON')
    .action(async (opts: { user?: string; ip?: string; event?: string; since?: string; until?: string; limit?: string; json?: boolean }, cmd: Command) => {
      const filter = { user: opts.user, address: opts.ip, event: opts.event, since: opts.since, until: opts.until };
      const limit = parseLimit(opts.limit, 1000);
      await withReadOnlyStore(cmd, async (audit) => {
        const records = await audit.search(filter, limit);
        if (opts.json) return printJson(records);
        printTable(
          ['TIME', 'EVENT', 'USER', 'ADDRESS', 'PROTOCOL', 'DETAIL'],
          records.map((r) => describe(r as unknown as Record<string, unknown>)),
        );
      });
    });

  program
    .command('logins <user>')
    .description("a user's recent logins: when, from which address, over which protocol, with which methods")
    .option('--limit <n>', 'most recent logins (default 20)')
    .option('--json', 'print JSON')
    .action(async (user: string, opts: { limit?: string; json?: boolean }, cmd: Command) => {
      const limit = parseLimit(opts.limit, 20);
      await withReadOnlyStore(cmd, async (audit) => {
        const rows = await audit.logins(user, limit);
        if (opts.json) return printJson(rows);
        printTable(
          ['TIME', 'ADDRESS', 'PROTOCOL', 'METHODS'],
          rows.map((r) => [r.ts, r.address ?? '-', r.protocol ?? '-', r.methods.join('+')].map(clean)),
        );
      });
    });
}
