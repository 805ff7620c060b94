// The audit trail for admins: search (filters, newest first, cursor pagination), a user's
// logins, and verification of the hash chain (files and store).
import type { AuditRecord } from '../audit/events.ts';
import { auditDir } from '../audit/trail-files.ts';
import { verifyTrail, type VerifyReport } from '../audit/verify.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { PortcullisError } from '../errors/index.ts';
import type { LoginRow } from '../store/audit-repository.ts';
import type { Store } from '../store/store.ts';

export interface AuditFilter {
  user?: string | undefined;
  address?: string | undefined;
  /** A prefix (`auth.`) or a glob with `*` (`file.*.failed`). */
  event?: string | undefined;
  /** ISO-8601 times. */
  since?: string | undefined;
  until?: string | undefined;
}

/** The trail's names of a transfer's events (upload and download, completed or failed). */
const TRANSFER_EVENTS = ['file.upload.', 'file.download.'] as const;

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `24h`, `30m`, `7d` (before now) or an ISO-8601 date → an ISO timestamp. */
export function parseSince(value: string, now = Date.now()): string {
  const m = /^(\d{1,6})([smhdw])$/.exec(value.trim());
  if (m) return new Date(now - Number(m[1]) * UNITS[m[2]!]!).toISOString();
  const t = Date.parse(value);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(value.trim())) throw new PortcullisError('ERR_AUDIT_BAD_QUERY', `"${value.slice(0, 60)}" is neither a duration (90s, 30m, 24h, 7d, 2w) nor a date (2026-01-31, 2026-01-31T12:00:00Z)`);
  return new Date(t).toISOString();
}

export function assertLimit(n: number, max: number = LIMITS.auditSearchMaxRows): number {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new PortcullisError('ERR_AUDIT_BAD_QUERY', `limit must be a whole number from 1 to ${max}`);
  return n;
}

export class AuditService {
  constructor(
    private readonly store: Store,
    private readonly config: Config,
  ) {}

  private query(f: AuditFilter) {
    return {
      user: f.user,
      remoteAddress: f.address,
      ...(f.event && (f.event.includes('*') ? { eventPattern: f.event } : { eventPrefix: f.event })),
      since: f.since ? parseSince(f.since) : undefined,
      until: f.until ? parseSince(f.until) : undefined,
    };
  }

  /** The newest `limit` matching records, oldest first (the CLI's `audit search`). */
  async search(filter: AuditFilter, limit: number): Promise<AuditRecord[]> {
    return this.store.audit.search({ ...this.query(filter), limit: assertLimit(limit) });
  }

  /** One page, newest first; `cursor` is the `next` of the previous page. */
  async page(filter: AuditFilter, limit: number, cursor: string | undefined): Promise<{ items: AuditRecord[]; next: string | null }> {
    let before: number | null = null;
    if (cursor !== undefined) {
      if (!/^[1-9]\d{0,15}$/.test(cursor)) throw new PortcullisError('ERR_AUDIT_BAD_QUERY', 'cursor: not a cursor from this API');
      before = Number(cursor);
    }
    const { records, next } = await this.store.audit.searchPage(this.query(filter), before, assertLimit(limit, LIMITS.apiPageSize.ceiling));
    return { items: records, next: next === null ? null : String(next) };
  }

  /** A user's newest `limit` uploads and downloads, oldest first. The trail names file events
   * `file.<op>.<outcome>`; listings, stats and realpaths would crowd transfers out of one prefix. */
  async transfers(user: string, limit: number): Promise<AuditRecord[]> {
    const n = assertLimit(limit);
    const found = await Promise.all(TRANSFER_EVENTS.map((eventPrefix) => this.store.audit.search({ user, eventPrefix, limit: n })));
    return found.flat().sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)).slice(-n);
  }

  async logins(user: string, limit: number): Promise<LoginRow[]> {
    return this.store.audit.logins(user, assertLimit(limit));
  }

  /** Checks the chain of every audit file and of the store. */
  async verify(): Promise<VerifyReport> {
    return verifyTrail({ dir: this.config.audit.file ? auditDir(this.config.dataDir) : null, repo: this.config.audit.store ? this.store.audit : null });
  }
}
