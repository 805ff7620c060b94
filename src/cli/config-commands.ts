import type { Command } from 'commander';
import { configKeyPaths, envNameFor } from '../config/load.ts';
import { redactSecrets } from '../config/redact.ts';
import { configFor } from './context.ts';
import { printJson } from './io.ts';

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
