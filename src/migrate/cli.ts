// `portcullis migrate …`: moving off Microsoft IIS FTP.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { LIMITS } from '../config/limits.ts';
import { configFor } from '../cli/context.ts';
import { openStoreAndAudit } from '../store/open-store.ts';
import { DEFAULT_ANALYSIS, type LogAnalysis } from './iis-log-analysis.ts';
import { formatLogAnalysis, LOG_FORMATS, type LogFormat } from './iis-log-report.ts';
import { analyzeIisLogs, findLogFiles, stderrProgress } from './iis-logs.ts';
import { chooseSite, readIisConfig } from './iis-config.ts';
import { buildImportPlan, type ImportPlan } from './iis-plan.ts';
import { formatPlan, formatPlanHtml, formatPlanText, formatPlanYaml, PLAN_FORMATS, type PlanFormat } from './iis-plan-report.ts';
import { readIisXmlFile } from './iis-xml.ts';
import { applyImportPlan, formatApplyText } from './iis-apply.ts';
import { importAdminFor } from './import-admin.ts';
import { buildMigrationReport, formatMigrationReport, REPORT_FORMATS, type ReportFormat } from './migration-report.ts';

function positiveInt(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

interface IisOptions {
  adminConfig?: string;
  site?: string;
  logs?: string;
  out?: string;
  format: PlanFormat;
  apply?: boolean;
  homes?: string;
  inviteDays: number;
  userAllowLists?: boolean;
  progress: boolean;
}

async function planFrom(file: string, o: Pick<IisOptions, 'adminConfig' | 'site' | 'logs' | 'progress'>): Promise<ImportPlan> {
  const config = readIisConfig(readIisXmlFile(file), o.adminConfig ? readIisXmlFile(o.adminConfig) : undefined);
  const site = chooseSite(config, o.site);
  let logs: LogAnalysis | undefined;
  if (o.logs) {
    // the site's own FTPSVC<id> folder when the logs have one, else every log given
    const all = findLogFiles(o.logs);
    const own = all.filter((f) => f.site.toLowerCase() === `ftpsvc${site.id}`);
    logs = await analyzeIisLogs(own.length ? own : all, DEFAULT_ANALYSIS, o.progress ? stderrProgress() : undefined);
  }
  return buildImportPlan({ config, site, logs, source: { config: file, adminConfig: o.adminConfig ?? null, logs: o.logs ?? null } });
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

  migrate
    .command('iis')
    .description('read an IIS FTP configuration and plan the import (users, rules, defender, config file); with --apply, create the users and their invitations')
    .argument('<applicationHost.config>', "IIS's applicationHost.config (or `appcmd list site /config /xml` output)")
    .option('--admin-config <file>', 'administration.config (IIS Manager users)')
    .option('--site <name>', 'the FTP site to import when there are several')
    .option('--logs <dir>', "the W3C log folder: plans the accounts that logged in and proposes each one's networks")
    .option('--out <dir>', 'write portcullis.yaml and the plan (iis-import-plan.json, .txt, .html) into this folder')
    .addOption(new Option('--format <format>', 'plan format on standard output').choices([...PLAN_FORMATS]).default('text'))
    .option('--apply', 'create the planned users (without passwords) and print one-time invitations; uses the store of -c/--config')
    .option('--homes <dir>', 'folder of the homes (default: DATADIR/home)')
    .option('--invite-days <n>', 'days an invitation stays valid', positiveInt('--invite-days', LIMITS.migrate.inviteDays.ceiling), LIMITS.migrate.inviteDays.default)
    .option('--user-allow-lists', 'with --apply: restrict each user to the networks the logs saw them come from')
    .option('--no-progress', 'no progress on stderr while reading logs')
    .action(async (file: string, o: IisOptions, cmd: Command) => {
      const plan = await planFrom(file, o);
      if (o.out) {
        mkdirSync(o.out, { recursive: true });
        writeFileSync(path.join(o.out, 'portcullis.yaml'), formatPlanYaml(plan));
        writeFileSync(path.join(o.out, 'iis-import-plan.json'), formatPlan(plan, 'json'));
        writeFileSync(path.join(o.out, 'iis-import-plan.txt'), formatPlanText(plan));
        writeFileSync(path.join(o.out, 'iis-import-plan.html'), formatPlanHtml(plan));
      }
      if (!o.apply) {
        process.stdout.write(o.out && o.format === 'text' ? `${plan.summary.map((s) => `* ${s}`).join('\n')}\nwrote ${path.join(o.out, 'portcullis.yaml')} and iis-import-plan.{json,txt,html}\n` : formatPlan(plan, o.format));
        return;
      }
      const { config } = configFor(cmd);
      const base = await openStoreAndAudit(config);
      try {
        const result = await applyImportPlan(plan, importAdminFor(base.store, base.audit, config), {
          homesRoot: o.homes ?? path.join(config.dataDir, 'home'),
          inviteDays: o.inviteDays,
          userAllowLists: Boolean(o.userAllowLists),
        });
        process.stdout.write(o.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatApplyText(result));
      } finally {
        await base.close();
      }
    });

  migrate
    .command('report')
    .description('the before and after: the import plan, the log analysis and scans of the old and new endpoints, layer by layer')
    .requiredOption('--plan <file>', 'iis-import-plan.json (from migrate iis --out)')
    .option('--logs <file-or-dir>', 'the log analysis (JSON from migrate iis-logs --format json) or the W3C log folder')
    .option('--old <url>', 'scan the legacy endpoint now (e.g. ftp://iis.example:21)')
    .option('--new <url>', 'scan the new server now (e.g. ftps://portcullis.example:21 or sftp://…)')
    .option('--old-scan <file>', 'a scan of the legacy endpoint (portcullis scan --format json)')
    .option('--new-scan <file>', 'a scan of the new server (portcullis scan --format json)')
    .option('--timeout <seconds>', 'time limit for each network operation of a scan', positiveInt('--timeout', 600))
    .addOption(new Option('--format <format>', 'output format').choices([...REPORT_FORMATS]).default('text'))
    .option('--output <file>', 'write the report to a file instead of standard output')
    .action(async (o: { plan: string; logs?: string; old?: string; new?: string; oldScan?: string; newScan?: string; timeout?: number; format: ReportFormat; output?: string }) => {
      const report = await buildMigrationReport(o);
      const text = formatMigrationReport(report, o.format);
      if (o.output) writeFileSync(o.output, text);
      else process.stdout.write(text);
    });
}
