// `portcullis migrate …`: moving off Microsoft IIS FTP.
import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_ANALYSIS } from './iis-log-analysis.ts';
import { formatLogAnalysis, LOG_FORMATS, type LogFormat } from './iis-log-report.ts';
import { analyzeIisLogs, findLogFiles, stderrProgress } from './iis-logs.ts';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1`);
    return n;
  };
}

export function registerMigrateCommands(program: Command): void {
  const migrate = program.command('migrate').description('move off Microsoft IIS FTP: read its logs and settings, and plan the move');
  migrate
    .command('iis-logs')
    .description('analyse IIS FTP W3C logs: active accounts, logins in clear, networks, failed logins, anonymous, active mode and SITE use')
    .argument('<dir>', 'folder of W3C logs (e.g. inetpub\\logs\\LogFiles, with FTPSVC<id> subfolders), or one log file')
    .option('--site <name>', 'only this site folder (e.g. FTPSVC2)')
    .addOption(new Option('--format <format>', 'output format').choices([...LOG_FORMATS]).default('text'))
    .option('--output <file>', 'write the report to a file instead of standard output')
    .option('--ban-threshold <n>', 'failed logins from one address that propose a ban', positiveInt('--ban-threshold'), DEFAULT_ANALYSIS.banThreshold)
    .option('--max-allow-networks <n>', 'accounts from at most this many networks get a proposed allow-list', positiveInt('--max-allow-networks'), DEFAULT_ANALYSIS.maxAllowNetworks)
    .option('--no-progress', 'no progress on stderr')
    .action(async (dir: string, o: { site?: string; format: LogFormat; output?: string; banThreshold: number; maxAllowNetworks: number; progress: boolean }) => {
      const files = findLogFiles(dir, o.site);
      const analysis = await analyzeIisLogs(files, { banThreshold: o.banThreshold, maxAllowNetworks: o.maxAllowNetworks }, o.progress ? stderrProgress() : undefined);
      const text = formatLogAnalysis(analysis, o.format);
      if (o.output) writeFileSync(o.output, text);
      else process.stdout.write(text);
    });
}
