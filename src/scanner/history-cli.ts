// `portcullis scan history [TARGET]` and `portcullis scan diff RUN_A RUN_B`: the stored reports of
// scheduled scans and posture runs (docs/scanner.md "Scheduled scans"). Read the store only,
// through the admin ScanService (the REST API's GET /v1/scans and /v1/scans/{a}/diff/{b}).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { configFor } from '../cli/context.ts';
import { printJson, printTable } from '../cli/io.ts';
import type { ScanService } from '../admin/scan-service.ts';
import { formatDiffText } from './history.ts';
import { parseTarget } from './target.ts';
import { SEVERITIES } from './types.ts';

function runId(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a run id is a positive integer (see `portcullis scan history`)');
  return n;
}

async function withScans<T>(cmd: Command, fn: (scans: ScanService) => Promise<T>): Promise<T> {
  const { config } = configFor(cmd);
  // Loaded only for these subcommands: `portcullis scan URL` stays free of the store.
  const { openStoreAndAudit } = await import('../store/open-store.ts');
  const { ScanService } = await import('../admin/scan-service.ts');
  const base = await openStoreAndAudit(config, { withoutAuditSinks: true });
  try {
    return await fn(new ScanService(base.store, null, null));
  } finally {
    await base.close();
  }
}

const counts = (failures: { severity: string }[]): string => {
  const parts = [...SEVERITIES].reverse().map((s) => [s, failures.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  return parts.length ? parts.join(', ') : 'none';
};

export function registerScanHistoryCommands(scan: Command): void {
  scan
    .command('history')
    .description('stored scan results (scheduled scans and posture runs), newest first')
    .argument('[target]', 'only this target (ftp://host:port, ftps://…, sftp://…)')
    .option('--limit <n>', 'rows at most', (v) => runId(v), 50)
    .option('--json', 'print JSON')
    .action(async (target: string | undefined, o: { limit: number; json?: boolean }, cmd: Command) => {
      const url = target === undefined ? undefined : parseTarget(target).url;
      const rows = await withScans(cmd, (scans) => scans.history(url, o.limit));
      if (o.json) return printJson(rows);
      if (rows.length === 0) {
        process.stdout.write(`no stored scan${url ? ` of ${url}` : ''} yet (scans.schedule runs them; posture stores its own)\n`);
        return;
      }
      printTable(
        ['RUN', 'WHEN', 'KIND', 'TARGET', 'REACHABLE', 'FINDINGS'],
        rows.map((r) => [String(r.runId), r.startedAt.replace(/\.\d+Z$/, 'Z'), `${r.kind}/${r.trigger}`, r.target, r.reachable ? 'yes' : 'no', counts(r.failures)]),
      );
    });
  scan
    .command('diff')
    .description('what changed between two stored runs, per target: new, resolved and unchanged findings')
    .argument('<runA>', 'the earlier run id', runId)
    .argument('<runB>', 'the later run id', runId)
    .option('--json', 'print JSON')
    .action(async (a: number, b: number, o: { json?: boolean }, cmd: Command) => {
      const diff = await withScans(cmd, (scans) => scans.diff(a, b));
      if (o.json) printJson(diff);
      else process.stdout.write(formatDiffText(diff.targets, a, b));
    });
}
