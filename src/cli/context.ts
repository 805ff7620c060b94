import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, type LoadedConfig } from '../config/load.ts';

/** The loaded configuration for a command, from the global --config option. */
export function configFor(cmd: Command): LoadedConfig {
  const { config } = cmd.optsWithGlobals<{ config?: string }>();
  // A one-shot command validates once and exits: zod's compiled fast path (generated with
  // `new Function` on first use) costs ~10 ms more than it saves there. `serve` keeps it for the
  // API's request bodies.
  if (cmd.name() !== 'serve') z.config({ jitless: true });
  return loadConfig({ file: config });
}
