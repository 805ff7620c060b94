// The store and the audit trail, without the rest of the core: what CLI commands need. Kept out
// of app.ts so that a command does not load the protocols, identity and policy modules.
import { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { ChainedAuditSink } from '../audit/sinks/chained.ts';
import { Fail2banSink } from '../audit/sinks/fail2ban.ts';
import { AuditGovernor } from '../audit/governor.ts';
import { auditDir, TrailFiles } from '../audit/trail-files.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { Store, storeOptionsFrom } from './store.ts';

export interface OpenStoreOptions {
  /** Skip the file/store audit sinks (CLI commands that only read). */
  withoutAuditSinks?: boolean;
  /** A worker process (workers > 1): no sinks of its own; every record goes to the primary,
   * the one writer of the trail (src/workers/worker-link.ts). */
  forwardAudit?: (record: AuditRecord) => void;
}

export async function openStoreAndAudit(config: Config, options: OpenStoreOptions = {}): Promise<{ store: Store; audit: Audit; trail: ChainedAuditSink | null; close(): Promise<void> }> {
  const store = await Store.open(storeOptionsFrom(config));
  const audit = new Audit();
  const sinks: { close(): Promise<void> }[] = [];
  let trail: ChainedAuditSink | null = null;
  if (options.forwardAudit) {
    const forward = options.forwardAudit;
    const unsubscribe = audit.subscribe((r) => forward(r));
    sinks.push({ close: async () => unsubscribe() });
  } else if (!options.withoutAuditSinks) {
    if (config.audit.file) sinks.push(new Fail2banSink(audit, config.dataDir));
    if (config.audit.file || config.audit.store) {
      trail = new ChainedAuditSink(audit, {
        files: config.audit.file ? new TrailFiles(auditDir(config.dataDir), config.audit.rotateBytes, config.audit.retention) : null,
        repo: config.audit.store ? store.audit : null,
        governor: new AuditGovernor({ perSession: config.audit.budget.perSession, perUser: config.audit.budget.perUser, windowMs: LIMITS.auditBudgetWindowMs, aggregateMs: LIMITS.auditAggregateIntervalMs }),
      });
      sinks.push(trail);
    }
  }
  return {
    store,
    audit,
    trail,
    async close() {
      for (const s of sinks) await s.close();
      audit.close();
      await store.close();
    },
  };
}

