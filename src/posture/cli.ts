// `portcullis posture`: the running server judged layer by layer. Reads the server's effective
// configuration through its control socket (so run it as the server's account, with the same
// --config), scans the server's own listeners, prints a score per layer and what to change.
// Exit codes: 0 ok, 1 a finding at or above --fail-on, 2 usage or runtime error.
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { configFor } from '../cli/context.ts';
import { controlRequest } from '../control/control-client.ts';
import { LIMITS } from '../scanner/limits.ts';
import { SEVERITIES, severityRank, type Severity } from '../scanner/types.ts';
import { BUNDLED_LIFECYCLE, loadLifecycle } from './lifecycle.ts';
import { runPosture, type PostureReport } from './posture.ts';
import { formatPostureText } from './report-text.ts';

interface PostureCliOptions {
  format: 'text' | 'json';
  output?: string;
  failOn: Severity | 'none';
  lifecycle?: string;
  timeout: number;
  targetTimeout: number;
}

function positive(name: string, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`${name} must be a positive number up to ${max}`);
    return n;
  };
}

export function postureExitCode(report: PostureReport, failOn: Severity | 'none'): number {
  if (failOn === 'none') return 0;
  return report.results.some((r) => r.status === 'fail' && severityRank(r.severity) >= severityRank(failOn)) ? 1 : 0;
}

export function registerPostureCommand(program: Command): void {
  program
    .command('posture')
    .description("score the running server per layer (secure protocols, encryption, MFA, restricted access, monitoring, patching) and say what to change")
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json']).default('text'))
    .option('--output <file>', 'write the report to a file instead of standard output')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity').choices([...SEVERITIES, 'none']).default('none'))
    .option('--lifecycle <file>', `runtime and dependency lifecycle data (default: the bundled ${BUNDLED_LIFECYCLE.split('/').pop()})`)
    .option('--timeout <seconds>', 'time limit for each network operation of the self-scan', positive('--timeout', 600), LIMITS.defaultTimeoutSeconds)
    .option('--target-timeout <seconds>', 'time limit for scanning each listener', positive('--target-timeout', 170), 60)
    .action(async (o: PostureCliOptions, cmd: Command) => {
      const { config } = configFor(cmd);
      const lifecycle = loadLifecycle(o.lifecycle ?? BUNDLED_LIFECYCLE);
      const { snapshot } = await controlRequest(config.dataDir, { op: 'posture.snapshot' });
      const startedAt = new Date();
      const progress = process.stderr.isTTY ? (l: string) => process.stderr.write(`\r\x1b[2K${l}`) : () => undefined;
      progress(`scanning ${snapshot!.listeners.length} listener(s) of the running server…`);
      const report = await runPosture(snapshot!, {
        lifecycle,
        timeoutMs: o.timeout * 1000,
        targetTimeoutMs: o.targetTimeout * 1000,
        selfScan: async (seconds) => {
          await controlRequest(config.dataDir, { op: 'posture.selfScan', seconds });
        },
      });
      progress('');
      // Posture history: stored with the scheduled scans, a lower score than last time audited.
      const { openStoreAndAudit } = await import('../store/open-store.ts');
      const { recordPosture } = await import('./history.ts');
      try {
        const base = await openStoreAndAudit(config);
        try {
          report.history = await recordPosture(report, base.store.scans, base.audit, startedAt);
        } finally {
          await base.close();
        }
      } catch (err) {
        // The verdict stands without its history: say so, do not lose the report.
        process.stderr.write(`portcullis posture: the run was not stored (history): ${(err as Error).message}\n`);
      }
      const text = o.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatPostureText(report, o.output === undefined && process.stdout.isTTY === true && !process.env.NO_COLOR);
      if (o.output !== undefined) writeFileSync(o.output, text);
      else process.stdout.write(text);
      process.exitCode = postureExitCode(report, o.failOn);
    });
}
