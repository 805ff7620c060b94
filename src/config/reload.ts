// Configuration reload (SIGHUP, `systemctl reload`): the file is read and validated again; an
// invalid one is refused with the key and the reason and the running configuration stays. Of a
// valid one, the keys in LIVE_KEYS take effect at once: the running configuration object is
// updated in place, and the components that use those keys read them on every use (admission
// on every accept, the defender on every event, the throttle on every attempt, the login and
// idle timers and the session cap on every connection or session). Every other changed key
// needs a restart, and the reload says which. No session is dropped either way.
import type { Config } from './schema.ts';

/** Keys (exact, or a prefix ending in '.') whose new values apply without a restart. */
export const LIVE_KEYS: readonly string[] = [
  'access.allow',
  'access.deny',
  'access.allowListMode',
  'defender.threshold',
  'defender.observationMinutes',
  'defender.banMinutes',
  'defender.maxBanMinutes',
  'defender.scores.',
  'defender.extendBanOnAttempt',
  'limits.maxConnections',
  'limits.maxConnectionsPerAddress',
  'limits.maxUnauthenticated',
  'limits.maxUnauthenticatedPerAddress',
  'limits.unauthenticatedDropFrom',
  'limits.loginTimeoutMs',
  'limits.idleTimeoutMs',
  'limits.drainTimeoutMs',
  'limits.maxAuthAttempts',
  'limits.maxSessionsPerUser',
  'rateLimits.userFailuresBeforeDelay',
  'rateLimits.userFailureWindowMinutes',
  'rateLimits.userMaxDelayMs',
  'mfa.required',
];

const isLive = (key: string): boolean => LIVE_KEYS.some((k) => (k.endsWith('.') ? key.startsWith(k) : key === k));

type Plain = Record<string, unknown>;
const isObject = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf keys (arrays are leaves) whose values differ, as dotted paths. */
export function changedKeys(a: unknown, b: unknown, prefix = ''): string[] {
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].sort().flatMap((k) => changedKeys(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

export interface ReloadPlan {
  /** Changed keys applied at once. */
  live: string[];
  /** Changed keys that take effect at the next start. */
  restart: string[];
}

export function planReload(current: Config, next: Config): ReloadPlan {
  const changed = changedKeys(current, next);
  return { live: changed.filter(isLive), restart: changed.filter((k) => !isLive(k)) };
}

/** Writes the live keys of `next` into the running configuration object. */
export function applyLive(current: Config, next: Config, keys: readonly string[]): void {
  for (const key of keys) {
    const parts = key.split('.');
    let from: unknown = next;
    let to: unknown = current;
    for (const p of parts.slice(0, -1)) {
      from = (from as Plain)[p];
      to = (to as Plain)[p];
    }
    const leaf = parts.at(-1)!;
    (to as Plain)[leaf] = structuredClone((from as Plain)[leaf]);
  }
}
