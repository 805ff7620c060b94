// `portcullis scan URL…`: option parsing, composition, output. Exit codes: 0 ok, 1 findings at or
// above --fail-on, 2 usage or runtime error.
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BUNDLED_ADVISORIES, loadAdvisories } from './advisories.ts';
import type { ScanOptions } from './context.ts';
import { errorMessage, ScanError } from './errors.ts';
import { LIMITS } from './limits.ts';
import { formatHtml } from './report-html.ts';
import { formatSarif } from './report-sarif.ts';
import { formatText } from './report-text.ts';
import { registerScanHistoryCommands } from './history-cli.ts';
import { withRunSink } from './isolation.ts';
import { scanAll, type ProgressEvent } from './scan.ts';
import { parseTarget } from './target.ts';
import { SEVERITIES, severityRank, type Mode, type ScanReport, type Severity, type TargetReport } from './types.ts';

export const FORMATS = ['text', 'json', 'sarif', 'html'] as const;
export type Format = (typeof FORMATS)[number];

const ALLOWABLE: Mode[] = ['writes', 'intrusive'];

function collectAllow(value: string, prev: Mode[]): Mode[] {
  const out = [...prev];
  for (const v of value.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!ALLOWABLE.includes(v as Mode)) throw new InvalidArgumentError(`--allow takes ${ALLOWABLE.join(' or ')}`);
    out.push(v as Mode);
  }
  return out;
}

function positive(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`${name} must be a positive number${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}`);
    return n;
  };
}

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

export interface ScanCliOptions {
  user?: string;
  passwordStdin?: boolean;
  key?: string;
  allow: Mode[];
  ca: string[];
  timeout: number;
  targetTimeout: number;
  concurrency: number;
  format: Format;
  output?: string;
  failOn: Severity | 'none';
  advisories?: string;
  progress: boolean;
}

export function render(report: ScanReport, format: Format, colour: boolean): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'sarif':
      return formatSarif(report);
    case 'html':
      return formatHtml(report);
    default:
      return formatText(report, colour);
  }
}

/** Exit code for CI: 1 when any finding is at or above the threshold. */
export function exitCodeFor(report: ScanReport, failOn: Severity | 'none'): number {
  if (failOn === 'none') return 0;
  const min = severityRank(failOn);
  return report.targets.some((t) => t.results.some((r) => r.status === 'fail' && severityRank(r.severity) >= min)) ? 1 : 0;
}

async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/)[0] ?? '';
}

/** On a terminal: one line, redrawn, with each running target's checks; elsewhere (CI logs): a
 * line per finished target. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): (e: ProgressEvent) => void {
  if (!stream.isTTY) {
    return (e) => {
      if (e.finished) stream.write(`${formatTargetLine(e.finished, e.done, e.total)}\n`);
    };
  }
  return (e) => {
    const running = e.current.map((c) => `${c.url} ${c.decided}/${c.total} checks`).join(', ');
    const line = `scanning ${e.done}/${e.total} targets${running ? `: ${running}` : ''}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 80) - 1)}`);
    if (e.finished) stream.write(`\r\x1b[2K${formatTargetLine(e.finished, e.done, e.total)}\n`);
  };
}

export function formatTargetLine(t: TargetReport, done: number, total: number): string {
  const fails = t.results.filter((r) => r.status === 'fail');
  const bySeverity = SEVERITIES.filter((s) => s !== 'info')
    .map((s) => [s, fails.filter((r) => r.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .reverse()
    .map(([s, n]) => `${n} ${s}`);
  const errors = t.results.filter((r) => r.status === 'error' && r.reasonCode !== 'mode-not-allowed').length;
  const parts = [
    t.reachable ? `${bySeverity.length ? bySeverity.join(', ') : 'no'} finding${bySeverity.length ? 's' : 's above info'}` : 'not reachable',
    ...(errors ? [`${errors} check${errors === 1 ? '' : 's'} not decided`] : []),
    `${(t.durationMs / 1000).toFixed(1)} s`,
  ];
  return `scanned ${done}/${total} ${t.target.url}: ${parts.join('; ')}`;
}

export async function runScan(urls: string[], o: ScanCliOptions): Promise<number> {
  const targets = urls.map(parseTarget);
  const advisories = loadAdvisories(o.advisories ?? BUNDLED_ADVISORIES);
  const ca = o.ca.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (cause) {
      throw new ScanError('ERR_SCAN_USAGE', `cannot read --ca file ${f}`, { cause });
    }
  });
  let password: string | undefined;
  if (o.passwordStdin) {
    if (o.user === undefined) throw new ScanError('ERR_SCAN_USAGE', '--password-stdin needs --user');
    password = await readPasswordFromStdin();
  } else if (o.user !== undefined && o.key === undefined) {
    throw new ScanError('ERR_SCAN_USAGE', '--user needs --password-stdin or --key');
  }
  if (o.key !== undefined) readFileSync(o.key); // fail early on an unreadable key
  const options: ScanOptions = {
    allow: new Set(o.allow),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(o.key !== undefined ? { keyFile: o.key } : {}),
    ca,
    timeoutMs: o.timeout * 1000,
    targetTimeoutMs: o.targetTimeout * 1000,
    concurrency: Math.min(o.concurrency, LIMITS.maxConcurrency),
    advisories,
  };
  // Errors that escape every target's probes are reported, never the end of the run.
  const stray: string[] = [];
  const report = await withRunSink(
    (err) => stray.push(errorMessage(err)),
    () => scanAll(targets, options, o.progress ? progressReporter() : undefined),
  );
  const toFile = o.output !== undefined;
  const text = render(report, o.format, !toFile && process.stdout.isTTY === true && !process.env.NO_COLOR);
  if (toFile) writeFileSync(o.output!, text);
  else process.stdout.write(text);
  const broken = [...report.targets.filter((t) => t.scannerError).map((t) => `${t.target.url}: ${t.scannerError!}`), ...stray];
  if (broken.length > 0) {
    for (const b of broken) process.stderr.write(`portcullis scan: ${b} (report written; the checks it left open are errors)\n`);
    return 2;
  }
  return exitCodeFor(report, o.failOn);
}

export function registerScanCommand(program: Command): void {
  const scan = program
    .command('scan')
    .description('audit FTP, FTPS and SFTP endpoints against the six security layers and say how to fix each finding')
    .argument('<url...>', 'targets: ftp://host:port (plain or explicit FTPS), ftps://host:port (implicit), sftp://host:port')
    .option('--user <name>', 'user name for checks that need credentials')
    .option('--password-stdin', 'read the password for --user from the first line of standard input')
    .option('--key <file>', 'private key file for SSH checks that need credentials')
    .option('--allow <mode>', 'opt into a mode: writes, intrusive (repeatable or comma-separated)', collectAllow, [] as Mode[])
    .option('--ca <file>', 'extra trusted CA certificate(s), PEM (repeatable)', collect, [] as string[])
    .option('--timeout <seconds>', 'time limit for each network operation', positive('--timeout', 600), LIMITS.defaultTimeoutSeconds)
    .option('--target-timeout <seconds>', 'time limit for each target', positive('--target-timeout', 3600), LIMITS.defaultTargetTimeoutSeconds)
    .option('--concurrency <n>', 'targets scanned at the same time', positive('--concurrency', LIMITS.maxConcurrency), LIMITS.defaultConcurrency)
    .addOption(new Option('--format <format>', 'report format').choices([...FORMATS]).default('text'))
    .option('--output <file>', 'write the report to a file instead of standard output')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity').choices([...SEVERITIES, 'none']).default('none'))
    .option('--advisories <file>', 'advisories data file (default: the bundled one)')
    .option('--no-progress', 'no progress on stderr (on a terminal: a line per check; elsewhere: a line per finished target)')
    .action(async (urls: string[], o: ScanCliOptions) => {
      try {
        process.exitCode = await runScan(urls, o);
      } catch (err) {
        process.stderr.write(`portcullis scan: ${errorMessage(err)}\n`);
        process.exitCode = 2;
      }
    });
  registerScanHistoryCommands(scan);
}
