// The alert rules: each looks at audit records and raises alerts. Windows are kept in memory
// (per user or address, pruned as they age). The new-address rule asks the store which
// addresses a user has logged in from before.
import type { AuditRecord } from '../audit/events.ts';
import type { Config } from '../config/schema.ts';
import type { Severity } from './alert.ts';

export interface Raised {
  rule: string;
  severity: Severity;
  summary: string;
  subject: string;
  user?: string;
  address?: string;
}

type RulesConfig = Config['alerts']['rules'];

/**
 * Timestamps (and amounts) within a sliding window, per key. Each key keeps its entries in
 * arrival order with a running sum, and drops expired ones from the front: adding is O(1)
 * amortised (a user downloading thousands of small files must not make every download walk
 * the whole window).
 */
class Windows {
  private readonly entries = new Map<string, { list: { at: number; amount: number }[]; head: number; sum: number }>();
  add(key: string, at: number, amount: number, windowMs: number): number {
    let w = this.entries.get(key);
    if (!w) {
      w = { list: [], head: 0, sum: 0 };
      this.entries.set(key, w);
      if (this.entries.size > 10_000) for (const k of [...this.entries.keys()].slice(0, 1000)) this.entries.delete(k);
    }
    while (w.head < w.list.length && w.list[w.head]!.at <= at - windowMs) w.sum -= w.list[w.head++]!.amount;
    if (w.head > 1024 && w.head * 2 > w.list.length) {
      w.list = w.list.slice(w.head);
      w.head = 0;
    }
    w.list.push({ at, amount });
    w.sum += amount;
    return w.sum;
  }
  reset(key: string): void {
    this.entries.delete(key);
  }
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

const fmtBytes = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${n} bytes`);

export class AlertRules {
  private readonly mfa = new Windows();
  private readonly downloads = new Windows();
  private readonly custom: { name: string; match: RegExp; count: number; windowMs: number; per: 'user' | 'address' | 'all'; severity: Severity; windows: Windows }[];

  constructor(
    private readonly config: RulesConfig,
    /** Notes a successful login; resolves true when the address is new for a user seen before. */
    private readonly isNewLoginAddress: (user: string, address: string, at: string) => Promise<boolean>,
    private readonly now: () => number = Date.now,
  ) {
    this.custom = config.custom.map((c) => ({ name: c.name, match: globToRegExp(c.event), count: c.count, windowMs: c.windowMinutes * 60_000, per: c.per, severity: c.severity, windows: new Windows() }));
  }

  /** Rules that need only the record. */
  check(r: AuditRecord): Raised[] {
    const out: Raised[] = [];
    const c = this.config;
    const user = r.user;
    const address = r.remoteAddress;
    const who = `${user ? `user ${user}` : 'unknown user'}${address ? ` from ${address}` : ''}`;
    if (r.type === 'policy.ban.added' && c.banAdded) {
      out.push({ rule: 'ban-added', severity: 'warning', subject: address ?? '-', address, summary: `Address ${address ?? '?'} banned for ${r.minutes} min by ${r.source}: ${r.reason}` });
    }
    // auth.mfa.failed is emitted once per wrong code (with an auth.failed, method totp, beside it).
    const mfaFailure = r.type === 'auth.mfa.failed' && r.reason !== 'not-enrolled';
    if (mfaFailure && c.mfaFailures.enabled && user) {
      const n = this.mfa.add(user, this.now(), 1, c.mfaFailures.windowMinutes * 60_000);
      if (n >= c.mfaFailures.count) {
        this.mfa.reset(user);
        out.push({ rule: 'mfa-failures', severity: 'critical', subject: user, user, address, summary: `${n} failed one-time codes for user ${user} within ${c.mfaFailures.windowMinutes} min (last from ${address ?? '?'}): the password may be known to someone else` });
      }
    }
    if (r.type === 'file.operation' && r.op === 'download' && c.downloadVolume.enabled && user && (r.bytes ?? 0) > 0) {
      const total = this.downloads.add(user, this.now(), r.bytes ?? 0, c.downloadVolume.windowMinutes * 60_000);
      if (total >= c.downloadVolume.bytes) {
        this.downloads.reset(user);
        out.push({ rule: 'download-volume', severity: 'critical', subject: user, user, address, summary: `User ${user} downloaded ${fmtBytes(total)} within ${c.downloadVolume.windowMinutes} min (limit ${fmtBytes(c.downloadVolume.bytes)}), last from ${address ?? '?'}` });
      }
    }
    // posture.score.dropped comes from the posture command but is no change: its own rule below.
    if ((r.protocol === 'cli' || r.protocol === 'admin') && c.adminChange && r.type !== 'alert.raised' && r.type !== 'posture.score.dropped') {
      const what = r.type === 'admin.change' ? `${r.resource} ${r.subject} ${r.action}${r.detail ? ` (${r.detail})` : ''} by ${r.actor.kind} ${r.actor.id}` : r.type === 'session.killed' ? `session ${r.target} killed` : r.event;
      out.push({ rule: 'admin-change', severity: 'notice', subject: `${r.event}:${what}`, summary: `${r.protocol === 'cli' ? 'CLI' : 'Admin'} change: ${r.event}: ${what}` });
    }
    if (r.type === 'audit.budget.exceeded' && c.auditTrail) {
      out.push({ rule: 'audit-budget', severity: 'warning', subject: `${r.scope}:${r.scope === 'session' ? r.sessionId : user}`, user, address, summary: `Audit budget of ${r.budget} file records per ${r.windowSeconds / 60} min exceeded by ${r.scope} ${r.scope === 'session' ? r.sessionId : user} (${who}): further records are counted, not written, until the window ends` });
    }
    if (r.type === 'audit.storage.failed' && c.auditTrail) {
      out.push({ rule: 'audit-storage', severity: 'critical', subject: r.code, summary: `The audit trail cannot be written (${r.code}): new sessions are refused until it can. Free space under the data directory.` });
    }
    if (r.type === 'config.reload.failed' && c.configReloadFailed) {
      out.push({ rule: 'config-reload-failed', severity: 'critical', subject: r.what, summary: `Reloading ${r.what} failed: ${r.detail}` });
    }
    if (r.type === 'identity.certificate.expiring' && c.certificateExpiry.enabled) {
      out.push({ rule: 'certificate-expiry', severity: r.daysLeft <= 3 ? 'critical' : 'warning', subject: r.fingerprint, summary: `The TLS certificate (${r.fingerprint}) expires on ${r.validTo}: ${r.daysLeft} day${r.daysLeft === 1 ? '' : 's'} left` });
    }
    if (r.type === 'scan.findings.new' && c.scanNewFindings) {
      out.push({ rule: 'scan-new-findings', severity: r.worst === 'critical' || r.worst === 'high' ? 'critical' : 'warning', subject: `${r.target}:${r.findings.join(',')}`, summary: `Scan of ${r.target} (run ${r.runId}): ${r.findings.length} new finding${r.findings.length === 1 ? '' : 's'}: ${r.findings.slice(0, 5).join('; ')}${r.findings.length > 5 ? ' …' : ''}` });
    }
    if (r.type === 'scan.certificate.expiring' && c.scanCertificateExpiry) {
      out.push({ rule: 'scan-certificate-expiry', severity: r.daysLeft <= 7 ? 'critical' : 'warning', subject: `${r.target}:${r.validTo}`, summary: `The certificate of ${r.target} (${r.subject}) ${r.daysLeft < 0 ? 'expired' : 'expires'} on ${r.validTo}: ${r.daysLeft} day${r.daysLeft === 1 ? '' : 's'} left` });
    }
    if (r.type === 'posture.score.dropped' && c.postureScoreDropped) {
      out.push({ rule: 'posture-score-dropped', severity: 'warning', subject: `${r.previous}>${r.score}`, summary: `Posture score dropped from ${r.previous} to ${r.score} (run ${r.runId})${r.layers.length ? `: ${r.layers.join(', ')}` : ''}` });
    }
    if (r.type === 'doctor.run.changed' && c.doctorChange) {
      const what = [...r.added.map((a) => `new: ${a}`), ...r.resolved.map((a) => `resolved: ${a}`)];
      out.push({ rule: 'doctor-change', severity: r.worst === 'problem' ? 'critical' : r.worst === 'warning' ? 'warning' : 'notice', subject: what.join('\n'), summary: `portcullis doctor: now ${r.status}; ${r.added.length} new, ${r.resolved.length} resolved: ${what.slice(0, 3).join('; ')}${what.length > 3 ? ' …' : ''}` });
    }
    if (!r.event.startsWith('alert.')) {
      for (const rule of this.custom) {
        if (!rule.match.test(r.event)) continue;
        const key = rule.per === 'user' ? user : rule.per === 'address' ? address : '*';
        if (key === undefined) continue;
        const n = rule.windows.add(key, this.now(), 1, rule.windowMs);
        if (n >= rule.count) {
          rule.windows.reset(key);
          out.push({ rule: rule.name, severity: rule.severity, subject: key, user, address, summary: `${rule.name}: ${n} × ${r.event} (${who})` });
        }
      }
    }
    return out;
  }

  /** Rules that ask the store (a login from an address never seen for that user). */
  async checkAsync(r: AuditRecord): Promise<Raised[]> {
    if (r.type !== 'auth.succeeded' || !this.config.newAddressLogin || !r.user || !r.remoteAddress) return [];
    if (!(await this.isNewLoginAddress(r.user, r.remoteAddress, r.ts))) return [];
    return [{ rule: 'new-address-login', severity: 'warning', subject: `${r.user}:${r.remoteAddress}`, user: r.user, address: r.remoteAddress, summary: `User ${r.user} logged in from ${r.remoteAddress}, an address never seen for this user (${r.protocol ?? '?'}, ${r.methods.join('+')})` }];
  }
}
