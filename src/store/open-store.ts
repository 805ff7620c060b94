// The store and the audit trail, without the rest of the core: what CLI commands need. Kept out
// of app.ts so that a command does not load the protocols, identity and policy modules.
import { Audit } from '../audit/audit.ts';
import { ChainedAuditSink } from '../audit/sinks/chained.ts';
import { Fail2banSink } from '../audit/sinks/fail2ban.ts';
import { auditDir, TrailFiles } from '../audit/trail-files.ts';
import type { Config } from '../config/schema.ts';
import { Store, storeOptionsFrom } from './store.ts';

export interface OpenStoreOptions {
  /** Skip the file/store audit sinks (CLI commands that only read). */
  withoutAuditSinks?: boolean;
}

export async function openStoreAndAudit(config: Config, options: OpenStoreOptions = {}): Promise<{ store: Store; audit: Audit; trail: ChainedAuditSink | null; close(): Promise<void> }> {
  const store = await Store.open(storeOptionsFrom(config));
  const audit = new Audit();
  const sinks: { close(): Promise<void> }[] = [];
  let trail: ChainedAuditSink | null = null;
  if (!options.withoutAuditSinks) {
    if (config.audit.file) sinks.push(new Fail2banSink(audit, config.dataDir));
    if (config.audit.file || config.audit.store) {
      trail = new ChainedAuditSink(audit, {
        files: config.audit.file ? new TrailFiles(auditDir(config.dataDir), config.audit.rotateBytes) : null,
        repo: config.audit.store ? store.audit : null,
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

