// Run the scanner in-process against one URL and index the results by check id.
import { loadAdvisories } from '../../../src/scanner/advisories.ts';
import type { ScanOptions } from '../../../src/scanner/context.ts';
import { scanTarget } from '../../../src/scanner/scan.ts';
import { parseTarget } from '../../../src/scanner/target.ts';
import type { CheckResult, Mode, TargetReport } from '../../../src/scanner/types.ts';

export interface ScanResult {
  report: TargetReport;
  get(id: string): CheckResult;
}

export async function scan(url: string, o: Partial<Omit<ScanOptions, 'allow'>> & { allow?: Mode[] } = {}): Promise<ScanResult> {
  const options: ScanOptions = {
    ca: [],
    timeoutMs: 5000,
    targetTimeoutMs: 60_000,
    concurrency: 2,
    advisories: loadAdvisories(),
    ...o,
    allow: new Set(o.allow ?? []),
  };
  const report = await scanTarget(parseTarget(url), options);
  const byId = new Map(report.results.map((r) => [r.id, r]));
  return {
    report,
    get(id: string): CheckResult {
      const r = byId.get(id);
      if (!r) throw new Error(`no result for ${id}`);
      return r;
    },
  };
}

/** Assertion message helper: show the result when a status assertion fails. */
export function show(r: CheckResult): string {
  return `${r.id}: ${r.status} ${r.reason ?? ''} ${JSON.stringify(r.evidence)}`;
}
