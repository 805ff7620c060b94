// Loads the configuration: YAML file (or built-in defaults), then environment overrides, then
// validation. Any mistake is a PortcullisError(ERR_CONFIG_INVALID) that names the key and the
// reason; the CLI prints it on one line and exits non-zero.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { PortcullisError } from '../errors/index.ts';
import { configSchema, type Config } from './schema.ts';

export const DEFAULT_CONFIG_FILE = 'portcullis.yaml';
export const ENV_PREFIX = 'PORTCULLIS_';
/** Environment variables with the prefix that are not config keys. */
export const RESERVED_ENV = new Set(['PORTCULLIS_CONFIG', 'PORTCULLIS_MFA_KEY', 'PORTCULLIS_API_TOKEN_KEY', 'PORTCULLIS_TEST_PG_URL', 'PORTCULLIS_QUIET_STALE']);

export interface LoadedConfig {
  config: Config;
  /** The file read, or null for built-in defaults. */
  file: string | null;
  /** Keys set from the environment, for the start-up report. */
  fromEnv: string[];
}

/** `ftps.passiveAddress` → `PORTCULLIS_FTPS__PASSIVE_ADDRESS`. */
export function envNameFor(keyPath: readonly string[]): string {
  return ENV_PREFIX + keyPath.map((k) => k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join('__');
}

/** Every leaf key path of the schema (objects are walked, everything else is a leaf). */
export function configKeyPaths(): string[][] {
  const out: string[][] = [];
  const walk = (schema: z.ZodType, prefix: string[]): void => {
    let s: z.ZodType = schema;
    // unwrap defaults/prefaults/pipes/refinements down to the object, if any
    for (;;) {
      const def = (s as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
      if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional' || def.type === 'nullable') && def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else break;
    }
    if (s instanceof z.ZodObject) {
      for (const [k, v] of Object.entries<z.ZodType>(s.shape)) walk(v, [...prefix, k]);
    } else out.push(prefix);
  };
  walk(configSchema, []);
  return out;
}

function setPath(target: Record<string, unknown>, keyPath: string[], value: unknown): void {
  let node = target;
  for (const k of keyPath.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keyPath[keyPath.length - 1]!] = value;
}

function describe(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function formatIssue(issue: z.core.$ZodIssue, input: unknown, fromEnv: ReadonlySet<string>): string {
  const key = issue.path.map(String).join('.') || '(root)';
  const where = fromEnv.has(key) ? ` [from ${envNameFor(issue.path.map(String))}]` : '';
  let got: unknown = input;
  for (const p of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[p];
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (key === '(root)' ? k : `${key}.${k}`));
    return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''} (check the spelling; see docs/configuration.md)`;
  }
  if (issue.code === 'invalid_type' && got === undefined) return `${key}: is required`;
  // SECURITY: never echo the value of a secret (webhook keys, SMTP passwords) into a log.
  const secret = /secret|password|token/i.test(key);
  const suffix = got === undefined || typeof got === 'object' || secret ? '' : ` (got ${describe(got)})`;
  return `${key}: ${issue.message}${suffix}${where}`;
}

/** Validates a plain object; throws ERR_CONFIG_INVALID naming every bad key. */
export function parseConfig(input: unknown, source = 'configuration', fromEnv: readonly string[] = []): Config {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const envKeys = new Set(fromEnv);
  const lines = result.error.issues.map((i) => formatIssue(i, input, envKeys));
  throw new PortcullisError('ERR_CONFIG_INVALID', `${source}: ${lines.join('; ')}`);
}

/** Applies PORTCULLIS_* variables onto the raw object; returns the keys it set. */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const known = new Map(configKeyPaths().map((p) => [envNameFor(p), p]));
  const set: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV.has(name) || value === undefined) continue;
    const keyPath = known.get(name);
    if (!keyPath) {
      throw new PortcullisError('ERR_CONFIG_INVALID', `environment: ${name}: not a configuration key (see docs/configuration.md for the names)`);
    }
    // YAML scalar rules: "2222" is a number, "true" a boolean, "null" null, "[a, b]" a list.
    let parsed: unknown;
    try {
      parsed = value === '' ? '' : YAML.parse(value);
    } catch {
      parsed = value;
    }
    setPath(raw, keyPath, parsed);
    set.push(keyPath.join('.'));
  }
  return set;
}

export function loadConfig(options: { file?: string | undefined; env?: NodeJS.ProcessEnv; cwd?: string } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.PORTCULLIS_CONFIG;
  const file = explicit ? path.resolve(cwd, explicit) : existsSync(path.join(cwd, DEFAULT_CONFIG_FILE)) ? path.join(cwd, DEFAULT_CONFIG_FILE) : null;

  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new PortcullisError('ERR_CONFIG_UNREADABLE', `${file}: ${(err as NodeJS.ErrnoException).code ?? 'read failed'}`, { cause: err });
    }
    let doc: unknown;
    try {
      doc = YAML.parse(text, { prettyErrors: true, uniqueKeys: true });
    } catch (err) {
      throw new PortcullisError('ERR_CONFIG_UNREADABLE', `${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new PortcullisError('ERR_CONFIG_INVALID', `${file}: the top level must be a mapping of keys`);
    }
    raw = (doc ?? {}) as Record<string, unknown>;
  }
  const fromEnv = applyEnv(raw, env);
  const config = parseConfig(raw, file ?? 'built-in defaults', fromEnv);
  // Relative paths in the config are relative to the config file's folder (or the cwd).
  const base = file ? path.dirname(file) : cwd;
  config.dataDir = path.resolve(base, config.dataDir);
  if (config.tls.certFile) config.tls.certFile = path.resolve(base, config.tls.certFile);
  if (config.tls.keyFile) config.tls.keyFile = path.resolve(base, config.tls.keyFile);
  if (config.mfa.clientCaFile) config.mfa.clientCaFile = path.resolve(base, config.mfa.clientCaFile);
  if (config.doctor.advisoriesFile) config.doctor.advisoriesFile = path.resolve(base, config.doctor.advisoriesFile);
  for (const t of config.scans.targets) {
    if (t.keyFile) t.keyFile = path.resolve(base, t.keyFile);
    if (t.caFile) t.caFile = path.resolve(base, t.caFile);
  }
  if (config.doctor.lifecycleFile) config.doctor.lifecycleFile = path.resolve(base, config.doctor.lifecycleFile);
  return { config, file, fromEnv };
}
