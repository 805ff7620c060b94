// The audit trail from the command line: `audit verify` proves the trail was not edited,
// `audit search` and `logins` answer "who logged in from where, and what did they take".
import type { Command } from 'commander';
import { openStoreAndAudit } from '../store/open-store.ts';
import { auditDir } from '../audit/trail-files.ts';
import { verifyTrail } from '../audit/verify.ts';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import { configFor } from './context.ts';
import { printJson, printTable } from './io.ts';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `24h`, `30m`, `7d` (before now) or an ISO-8601 date → an ISO timestamp. */
export function parseSince(value: string, now = Date.now()): string {
  const m = /^(\d{1,6})([smhdw])$/.exec(value.trim());
  if (m) return new Date(now - Number(m[1]) * UNITS[m[2]!]!).toISOString();
  const t = Date.parse(value);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(value.trim())) throw new PortcullisError('ERR_AUDIT_BAD_QUERY', `"${value}" is neither a duration (90s, 30m, 24h, 7d, 2w) nor a date (2026-01-31, 2026-01-31T12:00:00Z)`);
  return new Date(t).toISOString();
}

function parseLimit(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > LIMITS.auditSearchMaxRows) throw new PortcullisError('ERR_AUDIT_BAD_QUERY', `--limit must be a whole number from 1 to ${LIMITS.auditSearchMaxRows}`);
  return n;
}

async function withReadOnlyStore<T>(cmd: Command, fn: (base: Awaited<ReturnType<typeof openStoreAndAudit>>, config: ReturnType<typeof configFor>['config']) => Promise<T>): Promise<T> {
  const { config } = configFor(cmd);
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  try {
    return await fn(base, config);
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
      await withReadOnlyStore(cmd, async (base, config) => {
        const report = await verifyTrail({ dir: config.audit.file ? auditDir(config.dataDir) : null, repo: config.audit.store ? base.store.audit : null });
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
      const query = {
        user: opts.user,
        remoteAddress: opts.ip,
        ...(opts.event && (opts.event.includes('*') ? { eventPattern: opts.event } : { eventPrefix: opts.event })),
        since: opts.since ? parseSince(opts.since) : undefined,
        until: opts.until ? parseSince(opts.until) : undefined,
        limit: parseLimit(opts.limit, 1000),
      };
      await withReadOnlyStore(cmd, async (base) => {
        const records = await base.store.audit.search(query);
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
      await withReadOnlyStore(cmd, async (base) => {
        const rows = await base.store.audit.logins(user, limit);
        if (opts.json) return printJson(rows);
        printTable(
          ['TIME', 'ADDRESS', 'PROTOCOL', 'METHODS'],
          rows.map((r) => [r.ts, r.address ?? '-', r.protocol ?? '-', r.methods.join('+')].map(clean)),
        );
      });
    });
}
