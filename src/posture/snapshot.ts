// The running server's side of `portcullis posture`: what it actually runs with, as one JSON
// object handed out over the control socket (0600: the server's own account only). Secrets are
// redacted; the certificate is public anyway; user names appear only where a check names them.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Core } from '../app.ts';
import type { LoadedConfig } from '../config/load.ts';
import { redactSecrets } from '../config/redact.ts';
import type { Config } from '../config/schema.ts';
import type { BoundListener } from '../protocols/adapter.ts';

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);
/** Longest list of user names a snapshot carries per finding (the counts are always exact). */
const MAX_NAMES = 20;

export interface PostureSnapshot {
  server: {
    version: string;
    node: string;
    openssl: string;
    pid: number;
    startedAt: string;
    dataDir: string;
    configFile: string | null;
    fromEnv: string[];
  };
  /** The effective configuration, secrets replaced by `***`. */
  config: Config;
  listeners: BoundListener[];
  certificate: { pem: string; file: string };
  users: {
    total: number;
    disabled: number;
    /** Enabled users who need a second factor (global setting or their own). */
    needMfa: number;
    /** Enabled users who do not (mfa.required off, or exempted one by one). */
    withoutMfa: number;
    /** Enabled users exempted one by one while mfa.required is on. */
    exempt: string[];
    /** Enabled users who need MFA but have not enrolled (they cannot log in). */
    notEnrolled: string[];
  };
  /** The runtime dependencies this server process loaded, with their installed versions. */
  dependencies: { name: string; version: string | null }[];
}

function installedVersion(name: string): string | null {
  const require = createRequire(PACKAGE_JSON);
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = path.join(dir, name, 'package.json');
    if (!existsSync(file)) continue;
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

export async function takeSnapshot(core: Core, listeners: BoundListener[], loaded: Pick<LoadedConfig, 'file' | 'fromEnv'>, startedAt: Date): Promise<PostureSnapshot> {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string; dependencies?: Record<string, string> };
  const users = { total: 0, disabled: 0, needMfa: 0, withoutMfa: 0, exempt: [] as string[], notEnrolled: [] as string[] };
  for (const user of await core.store.users.list()) {
    users.total++;
    if (user.disabled) {
      users.disabled++;
      continue;
    }
    if (!core.mfa.requires(user)) {
      users.withoutMfa++;
      if (core.config.mfa.required && users.exempt.length < MAX_NAMES) users.exempt.push(user.name);
      continue;
    }
    users.needMfa++;
    if (!(await core.mfa.isEnrolled(user)) && users.notEnrolled.length < MAX_NAMES) users.notEnrolled.push(user.name);
  }
  return {
    server: {
      version: pkg.version,
      node: process.version,
      openssl: process.versions.openssl ?? 'unknown',
      pid: process.pid,
      startedAt: startedAt.toISOString(),
      dataDir: path.resolve(core.config.dataDir),
      configFile: loaded.file,
      fromEnv: loaded.fromEnv,
    },
    config: redactSecrets(core.config) as Config,
    listeners,
    certificate: { pem: core.identity.tls.cert.toString('utf8'), file: core.identity.tls.certFile },
    users,
    dependencies: Object.keys(pkg.dependencies ?? {})
      .sort()
      .map((name) => ({ name, version: installedVersion(name) })),
  };
}
