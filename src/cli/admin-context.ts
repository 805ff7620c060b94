// The admin services for one CLI command: the store and audit trail opened for the command,
// sessions through the running server's control socket, the actor the operator at the host.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Actor, cliActor } from '../admin/actor.ts';
import { type AdminServices, createAdminServices } from '../admin/services.ts';
import type { Config } from '../config/schema.ts';
import { ControlSocketSessions } from '../control/control-client.ts';
import { PortcullisError } from '../errors/index.ts';
import { openStoreAndAudit } from '../store/open-store.ts';
import { configFor } from './context.ts';

export interface CliAdmin {
  services: AdminServices;
  actor: Actor;
  config: Config;
}

export async function withAdmin<T>(cmd: Command, fn: (admin: CliAdmin) => Promise<T>): Promise<T> {
  const { config } = configFor(cmd);
  const base = await openStoreAndAudit(config);
  // A ban or rule made here reaches every node at once when they share a Redis (docs/cluster.md).
  const cluster = config.redis.url ? await (await import('../cluster/cluster-link.ts')).ClusterLink.connect(config, (await import('pino')).pino({ level: 'warn', base: undefined }, process.stderr)) : null;
  if (cluster) base.store.policy.onChange(() => cluster.publishPolicyChanged());
  try {
    const services = createAdminServices({ store: base.store, audit: base.audit, config, sessions: new ControlSocketSessions(config.dataDir) });
    return await fn({ services, actor: cliActor(), config });
  } finally {
    await cluster?.close();
    await base.close();
  }
}

/** Reads a file named on the command line (a public key, a certificate). */
export function readArgFile(file: string, code: 'ERR_KEY_INVALID'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new PortcullisError(code, `${file}: ${(err as NodeJS.ErrnoException).code ?? 'cannot read'}`, { cause: err });
  }
}
