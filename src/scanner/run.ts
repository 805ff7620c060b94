// Standalone entry for development: node --import tsx src/scanner/run.ts scan ftp://127.0.0.1:2121
import { Command } from 'commander';
import { registerScanCommand } from './cli.ts';

const program = new Command('portcullis').exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});
registerScanCommand(program);
await program.parseAsync(process.argv);
