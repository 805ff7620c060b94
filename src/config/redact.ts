// SECURITY: secrets (webhook keys, SMTP passwords, a password inside a store URL) never reach a
// terminal, a CI log or a posture report.

const SECRET_KEY = /secret|password|token|passphrase/i;

/**
 * The value with every secret-looking key's text replaced by `***` and URL passwords masked.
 * Only strings are secrets: numbers and booleans under such keys (the defender's
 * `scores.wrongPassword`, a `tokenTtlSeconds`) are settings and stay visible.
 */
export function redactSecrets(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && typeof value === 'string' && value !== '') return '***';
  if (typeof value === 'string') return redactUrlPassword(value);
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)]));
  return value;
}

/** `postgres://user:pw@host/db` → `postgres://user:***@host/db`; anything else unchanged. */
function redactUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^@/\s]*@/i, '$1:***@');
}
