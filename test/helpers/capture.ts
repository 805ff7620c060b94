// Records a test server's audit events and log lines (info, warn, error) from now on: refusal
// tests check both, as every refusal must leave an audit record and a log line saying why.
import type { AuditEvent } from '../../src/audit/events.ts';
import type { TestServer } from './server.ts';

/** Audit events and info log lines of the server, from now on. */
export function capture(f: { srv: TestServer }): { events: AuditEvent[]; logs: { obj: Record<string, unknown>; msg: string }[] } {
  const events: AuditEvent[] = [];
  f.srv.server.core.audit.subscribe((e) => events.push(e));
  const logs: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = f.srv.server.core.logger;
  for (const level of ['info', 'warn', 'error'] as const) {
    const orig = logger[level].bind(logger);
    (logger as unknown as Record<string, unknown>)[level] = (obj: unknown, msg?: string) => {
      if (typeof obj === 'object' && obj !== null) logs.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' });
      return (orig)(obj, msg);
    };
  }
  return { events, logs };
}

export async function until<T>(get: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

