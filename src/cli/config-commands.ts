import type { Command } from 'commander';
import { configKeyPaths, envNameFor } from '../config/load.ts';
import { configFor } from './context.ts';
import { printJson } from './io.ts';

/** SECURITY: secrets (webhook keys, SMTP passwords) never reach a terminal or a CI log. */
export function redactSecrets(value: unknown, key = ''): unknown {
  if (/secret|password|token/i.test(key) && value !== null && value !== undefined && value !== '') return '***';
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)]));
  return value;
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the configuration and print the effective values')
    .option('--json', 'print the effective configuration as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const loaded = configFor(cmd);
      if (opts.json) return printJson(redactSecrets(loaded.config));
      process.stdout.write(`configuration ok (${loaded.file ?? 'built-in defaults'}${loaded.fromEnv.length ? `; from environment: ${loaded.fromEnv.join(', ')}` : ''})\n`);
      for (const keyPath of configKeyPaths()) {
        let v: unknown = redactSecrets(loaded.config);
        for (const k of keyPath) v = (v as Record<string, unknown>)[k];
        process.stdout.write(`  ${keyPath.join('.')} = ${JSON.stringify(v)}   (${envNameFor(keyPath)})\n`);
      }
    });
}
