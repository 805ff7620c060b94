// `portcullis doctor`: what to patch and what is about to break, one line each with the fix.
// Needs neither the server running nor the network (unless doctor.clockUrl is set); opens the
// store read-only. Exit codes for monitoring: 0 ok, 1 warnings, 2 problems, 3 doctor itself
// could not run (bad option, unreadable data file or configuration).
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { configFor } from '../cli/context.ts';
import { isPortcullisError } from '../errors/index.ts';
import { loadDoctorData, runDoctor } from './doctor.ts';
import { formatDoctorText } from './report-text.ts';

/** Exit code when doctor cannot judge at all (Nagios' UNKNOWN). */
export const DOCTOR_EXIT_UNKNOWN = 3;

interface DoctorCliOptions {
  json?: boolean;
  output?: string;
  advisories?: string;
  lifecycle?: string;
  quiet?: boolean;
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('say what to patch and what is about to break (runtime, dependencies, certificates, keys, permissions, disk, clock, store, settings), each with the fix; exit 0 ok, 1 warnings, 2 problems')
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--format <format>', 'report format (--json is the same as --format json)').choices(['text', 'json']).hideHelp())
    .option('--output <file>', 'write the report to a file instead of standard output')
    .option('--advisories <path>', 'dependency advisories in OSV format: a file, or a folder of OSV JSON files (default: doctor.advisoriesFile, else the bundled one)')
    .option('--lifecycle <file>', 'Node.js release lines (default: doctor.lifecycleFile, else the bundled one)')
    .option('-q, --quiet', 'text: leave out the lines that are ok')
    .action(async (o: DoctorCliOptions & { format?: string }, cmd: Command) => {
      try {
        const { config, file } = configFor(cmd);
        const { lifecycle, advisories } = loadDoctorData(config, o);
        const report = await runDoctor({ config, configFile: file, lifecycle, advisories });
        const json = o.json === true || o.format === 'json';
        const text = json ? JSON.stringify(report, null, 2) + '\n' : formatDoctorText(report, o.output === undefined && process.stdout.isTTY === true && !process.env.NO_COLOR, !o.quiet);
        if (o.output !== undefined) writeFileSync(o.output, text);
        else process.stdout.write(text);
        process.exitCode = report.exitCode;
      } catch (err) {
        const what = isPortcullisError(err) ? `${err.message} [${err.code}]` : ((err as Error)?.stack ?? String(err));
        process.stderr.write(`portcullis doctor: ${what}\n`);
        process.exitCode = DOCTOR_EXIT_UNKNOWN;
      }
    });
}
