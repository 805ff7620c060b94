import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.ts';

/** The loaded configuration for a command, from the global --config option. */
export function configFor(cmd: Command): LoadedConfig {
  const { config } = cmd.optsWithGlobals<{ config?: string }>();
  return loadConfig({ file: config });
}
