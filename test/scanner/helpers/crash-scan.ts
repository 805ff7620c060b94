// Child process for the robustness tests (node:test's own handlers would claim the stray errors
// in-process): scans the given FTP URLs with a prober that breaks the way argv[2] says on the
// first URL, and prints the report as JSON.
import { loadAdvisories } from '../../../src/scanner/advisories.ts';
import { PROBERS, scanAll, type Prober } from '../../../src/scanner/scan.ts';
import { parseTarget } from '../../../src/scanner/target.ts';

const [how, first, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const victim = parseTarget(first);
const breaks: Record<string, () => void> = {
  timer: () =>
    setTimeout(() => {
      throw new Error('probe bug in a timer');
    }, 10),
  rejection: () => void Promise.reject(new Error('forgotten promise')),
};
const broken: Prober = async (s) => {
  if (s.target.port !== victim.port) return PROBERS.ftp(s);
  s.pass('svc.exposed-service', 'decided before the crash');
  breaks[how]!();
  await new Promise(() => undefined); // never settles: only the isolation can end this target
};
const report = await scanAll(
  [victim, ...rest.map(parseTarget)],
  { allow: new Set(), ca: [], timeoutMs: 3000, targetTimeoutMs: 30_000, concurrency: 2, advisories: loadAdvisories() },
  undefined,
  { ...PROBERS, ftp: broken },
);
process.stdout.write(JSON.stringify(report));
