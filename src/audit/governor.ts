// What reaches the audit trail when one user floods it (issue 14.6). The bus still carries
// every event (metrics, the defender and alerts count each one); the trail writer asks the
// governor which records to write:
// - Aggregation: a failure identical to one written in full earlier in the interval (same
//   session, event, error code, path pattern) is counted, not written; when the interval ends
//   (or the session closes, or the trail is flushed) one `audit.records.aggregated` record
//   carries the count.
// - Budgets: a session, and a user over all their sessions, may write so many `file.*` records
//   per window. Past it, the first record over says so at once (`audit.budget.exceeded`, which
//   the alert rules forward) and the rest are counted per event into one
//   `audit.records.suppressed` record at the end of the window (or of the session).
// Nothing is dropped silently: full records + aggregated counts + suppressed counts add up to
// every event emitted. Records that are not file operations (logins, bans, refusals, session
// ends, configuration) are never aggregated nor budgeted.
import { LIMITS } from '../config/limits.ts';
import type { AuditEvent, AuditRecord } from './events.ts';

export interface GovernorOptions {
  /** `file.*` records one session may write per window (0: no budget). */
  perSession: number;
  /** `file.*` records one user may write per window, all sessions together (0: no budget). */
  perUser: number;
  windowMs: number;
  aggregateMs: number;
  now?: () => number;
}

type Fields = Pick<AuditRecord, 'connectionId' | 'protocol' | 'remoteAddress' | 'user'>;

interface Group {
  startedAt: number;
  count: number;
  first: string;
  last: string;
  fields: Fields;
  of: string;
  sessionId?: string;
  code?: string;
  pattern?: string;
  targetPattern?: string;
}

interface Budget {
  startedAt: number;
  written: number;
  suppressed: Map<string, number>;
  bytes: number;
  first: string;
  last: string;
  fields: Fields;
}

/** A path as a pattern: its folder and `*` (`/in/a1.csv` → `/in/*`), so that renaming 5,000
 * names in one folder is one group. */
export function pathPattern(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  const cut = p.lastIndexOf('/');
  return cut <= 0 ? '/*' : `${p.slice(0, cut)}/*`;
}

/** Which records aggregate, and what makes two of them identical. */
const AGGREGATED: readonly { match: (r: AuditRecord) => boolean; key: (r: AuditRecord) => (string | undefined)[] }[] = [
  {
    match: (r) => r.type === 'file.operation' && r.outcome === 'failed',
    key: (r) => (r.type === 'file.operation' ? [r.sessionId, r.event, r.code, pathPattern(r.path), pathPattern(r.target)] : []),
  },
  { match: (r) => r.type === 'protocol.malformed', key: (r) => [r.connectionId, r.event, r.type === 'protocol.malformed' ? r.code : undefined] },
];

const fieldsOf = (r: AuditRecord): Fields => ({ connectionId: r.connectionId, protocol: r.protocol, remoteAddress: r.remoteAddress, user: r.user });

export class AuditGovernor {
  private readonly groups = new Map<string, Group>();
  private readonly sessions = new Map<string, Budget>();
  private readonly users = new Map<string, Budget>();
  private readonly now: () => number;

  constructor(private readonly options: GovernorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The records to write for one emitted record: itself, nothing (counted), or summaries before it. */
  admit(r: AuditRecord): AuditRecord[] {
    const out: AuditRecord[] = [];
    const now = this.now();
    if (r.type === 'session.closed') {
      this.closeGroups((g) => g.sessionId === r.sessionId, out);
      this.closeBudget(this.sessions, r.sessionId, 'session', out);
      out.push(r);
      return out;
    }
    if (r.type === 'conn.closed' && r.connectionId) {
      this.closeGroups((g) => g.sessionId === undefined && g.fields.connectionId === r.connectionId, out);
      out.push(r);
      return out;
    }
    const rule = AGGREGATED.find((a) => a.match(r));
    const key = rule ? JSON.stringify(rule.key(r)) : null;
    if (key !== null) {
      const g = this.groups.get(key);
      if (g && now - g.startedAt < this.options.aggregateMs) {
        g.count++;
        g.last = r.ts;
        return out;
      }
      if (g) this.closeGroups((x) => x === g, out);
    }
    if (r.type === 'file.operation' && !this.withinBudget(r, now, out)) return out;
    if (key !== null && rule) {
      if (this.groups.size >= LIMITS.auditAggregateMaxGroups) {
        const oldest = this.groups.values().next().value!;
        this.closeGroups((x) => x === oldest, out);
      }
      const f = r as AuditRecord & { sessionId?: string; code?: string; path?: string; target?: string };
      this.groups.set(key, { startedAt: now, count: 0, first: r.ts, last: r.ts, fields: fieldsOf(r), of: r.event, sessionId: f.sessionId, code: f.code, pattern: pathPattern(f.path), targetPattern: pathPattern(f.target) });
    }
    out.push(r);
    return out;
  }

  /** Summaries whose interval or window has ended (`all`: every pending one: flush, shutdown). */
  due(all = false): AuditRecord[] {
    const out: AuditRecord[] = [];
    const now = this.now();
    this.closeGroups((g) => all || now - g.startedAt >= this.options.aggregateMs, out);
    for (const [scope, map] of [['session', this.sessions], ['user', this.users]] as const) {
      for (const [id, b] of map) {
        if (all || now - b.startedAt >= this.options.windowMs) this.closeBudget(map, id, scope, out);
      }
    }
    return out;
  }

  /** Counts the record against its session's and user's budgets; false when it is suppressed. */
  private withinBudget(r: AuditRecord & { type: 'file.operation' }, now: number, out: AuditRecord[]): boolean {
    const scopes: ['session' | 'user', Map<string, Budget>, string | undefined, number][] = [
      ['session', this.sessions, r.sessionId, this.options.perSession],
      ['user', this.users, r.user, this.options.perUser],
    ];
    for (const [scope, map, id, limit] of scopes) {
      if (!id || limit <= 0) continue;
      let b = map.get(id);
      if (b && now - b.startedAt >= this.options.windowMs) {
        this.closeBudget(map, id, scope, out);
        b = undefined;
      }
      if (!b) {
        b = { startedAt: now, written: 0, suppressed: new Map(), bytes: 0, first: r.ts, last: r.ts, fields: fieldsOf(r) };
        map.set(id, b);
      }
      if (b.written >= limit) {
        if (b.suppressed.size === 0) {
          out.push(this.record({ type: 'audit.budget.exceeded', scope, ...(scope === 'session' && { sessionId: id }), budget: limit, windowSeconds: Math.round(this.options.windowMs / 1000), ...b.fields, user: r.user }));
          b.first = r.ts;
        }
        b.suppressed.set(r.event, (b.suppressed.get(r.event) ?? 0) + 1);
        b.bytes += r.bytes ?? 0;
        b.last = r.ts;
        return false;
      }
    }
    for (const [, map, id, limit] of scopes) if (id && limit > 0) map.get(id)!.written++;
    return true;
  }

  private closeGroups(which: (g: Group) => boolean, out: AuditRecord[]): void {
    for (const [key, g] of this.groups) {
      if (!which(g)) continue;
      this.groups.delete(key);
      if (g.count === 0) continue;
      out.push(
        this.record({
          type: 'audit.records.aggregated',
          of: g.of,
          count: g.count,
          first: g.first,
          last: g.last,
          ...(g.sessionId !== undefined && { sessionId: g.sessionId }),
          ...(g.code !== undefined && { code: g.code }),
          ...(g.pattern !== undefined && { pattern: g.pattern }),
          ...(g.targetPattern !== undefined && { targetPattern: g.targetPattern }),
          ...g.fields,
        }),
      );
    }
  }

  private closeBudget(map: Map<string, Budget>, id: string | undefined, scope: 'session' | 'user', out: AuditRecord[]): void {
    if (id === undefined) return;
    const b = map.get(id);
    if (!b) return;
    map.delete(id);
    if (b.suppressed.size === 0) return;
    const count = [...b.suppressed.values()].reduce((a, n) => a + n, 0);
    out.push(
      this.record({
        type: 'audit.records.suppressed',
        scope,
        ...(scope === 'session' && { sessionId: id }),
        count,
        events: Object.fromEntries(b.suppressed),
        bytes: b.bytes,
        first: b.first,
        last: b.last,
        ...b.fields,
        user: scope === 'user' ? id : b.fields.user,
      }),
    );
  }

  private record(e: AuditEvent): AuditRecord {
    return { ts: new Date(this.now()).toISOString(), event: e.type, ...e };
  }
}
