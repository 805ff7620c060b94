// The alert engine: subscribes to the audit events (and, for changes made by `portcullis`
// commands in other processes, follows the store's chain), runs the rules, suppresses
// duplicates within alerts.suppressMinutes, and hands each alert to every configured channel.
// Delivery is queued and retried with backoff in the background: it never blocks the event
// that raised it, let alone a transfer.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit.ts';
import type { ChainedRecord } from '../audit/chain.ts';
import type { AuditRecord } from '../audit/events.ts';
import type { ChainedAuditSink } from '../audit/sinks/chained.ts';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import type { AuditRepository } from '../store/audit-repository.ts';
import type { Alert, AlertChannel } from './alert.ts';
import { EmailChannel } from './channels/email.ts';
import { SyslogChannel } from './channels/syslog.ts';
import { WebhookChannel } from './channels/webhook.ts';
import { AlertRules, type Raised } from './rules.ts';

export function channelsFrom(config: Config['alerts']): AlertChannel[] {
  const out: AlertChannel[] = [];
  const { webhook, syslog, email } = config;
  if (webhook.url && webhook.secret) out.push(new WebhookChannel(webhook.url, webhook.secret));
  if (syslog.host) out.push(new SyslogChannel({ ...syslog, host: syslog.host }));
  if (email.host) out.push(new EmailChannel({ ...email, host: email.host }));
  return out;
}

/** One channel's queue: bounded, delivered in order, retried with doubling delays. */
class Dispatcher {
  private readonly queue: Alert[] = [];
  private running = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  dropped = 0;

  constructor(
    readonly channel: AlertChannel,
    private readonly maxAttempts: number,
    private readonly backoffMs: number,
    private readonly onResult: (channel: string, outcome: 'delivered' | 'failed' | 'dropped', alert: Alert, err?: Error) => void,
  ) {}

  push(alert: Alert): void {
    if (this.stopped) return;
    if (this.queue.length >= LIMITS.alertQueueMax) {
      const old = this.queue.shift()!;
      this.dropped++;
      this.onResult(this.channel.name, 'dropped', old);
    }
    this.queue.push(alert);
    if (!this.running) void this.run();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      t.unref();
      this.timers.add(t);
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0 && !this.stopped) {
      const alert = this.queue.shift()!;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.channel.send(alert);
          this.onResult(this.channel.name, 'delivered', alert);
          break;
        } catch (err) {
          if (attempt >= this.maxAttempts || this.stopped) {
            this.onResult(this.channel.name, 'failed', alert, err as Error);
            break;
          }
          await this.sleep(this.backoffMs * 2 ** (attempt - 1));
        }
      }
    }
    this.running = false;
  }

  /** Resolves when the queue is empty (tests, shutdown with a deadline). */
  async idle(): Promise<void> {
    while (this.running || this.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.channel.close?.();
  }
}

export interface AlertsDeps {
  config: Config;
  audit: Audit;
  repo: AuditRepository | null;
  trail: ChainedAuditSink | null;
  logger: Logger;
  /** The TLS certificate in use now (it changes on reload). */
  certificate: () => { validTo: string; fingerprint: string };
  channels?: AlertChannel[];
  onDelivery?: (channel: string, outcome: 'delivered' | 'failed' | 'dropped', rule: string) => void;
  now?: () => number;
}

export class Alerts {
  private readonly rules: AlertRules;
  private readonly dispatchers: Dispatcher[];
  private readonly lastSent = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private readonly unwatch: () => void;
  private readonly ownSeqs = new Set<number>();
  private followSeq = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private certTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | null = null;
  private readonly host = os.hostname();
  private readonly now: () => number;

  constructor(private readonly deps: AlertsDeps) {
    const { config } = deps;
    this.now = deps.now ?? Date.now;
    this.rules = new AlertRules(config.alerts.rules, async (user, address, at) => (deps.repo ? (await deps.repo.noteLoginAddress(user, address, at)).isNew : false), this.now);
    const onResult = (channel: string, outcome: 'delivered' | 'failed' | 'dropped', alert: Alert, err?: Error) => {
      if (outcome !== 'delivered') deps.logger.warn({ channel, rule: alert.rule, alert: alert.id, err: err?.message }, `alert ${outcome}`);
      deps.onDelivery?.(channel, outcome, alert.rule);
    };
    this.dispatchers = (deps.channels ?? channelsFrom(config.alerts)).map((c) => new Dispatcher(c, config.alerts.webhook.maxAttempts, config.alerts.webhook.backoffMs, onResult));
    // Changes made by CLI commands are followed in the store (they come from other processes);
    // everything else arrives on the channel.
    this.unsubscribe = deps.audit.subscribe((r) => {
      if (r.protocol !== 'cli') this.observe(r);
    });
    const unsealed = deps.trail?.onSealed((records) => {
      for (const r of records) if (r.seq > this.followSeq) this.ownSeqs.add(r.seq);
    });
    // The trail's own records (budget exceeded, disk full) never pass the bus: the disk may be full.
    const unnoticed = deps.trail?.onNotice((r) => this.observe(r));
    this.unwatch = () => {
      unsealed?.();
      unnoticed?.();
    };
  }

  async start(): Promise<void> {
    if (this.deps.repo) {
      this.followSeq = (await this.deps.repo.head()).seq;
      this.pollTimer = setInterval(() => {
        this.polling ??= this.follow()
          .catch(() => undefined)
          .finally(() => (this.polling = null));
      }, this.deps.config.access.refreshSeconds * 1000);
      this.pollTimer.unref();
    }
    this.checkCertificate();
    this.certTimer = setInterval(() => this.checkCertificate(), 12 * 3_600_000);
    this.certTimer.unref();
  }

  /** Reads records other processes added to the chain (CLI commands) and runs the rules on them. */
  async follow(): Promise<void> {
    const repo = this.deps.repo;
    if (!repo) return;
    for (;;) {
      const records: ChainedRecord[] = await repo.after(this.followSeq, 500);
      if (records.length === 0) return;
      for (const r of records) {
        const foreign = !this.ownSeqs.delete(r.seq);
        if (r.protocol === 'cli' || (foreign && r.type === 'policy.ban.added')) this.observe(r);
        this.followSeq = r.seq;
      }
      for (const s of this.ownSeqs) if (s <= this.followSeq) this.ownSeqs.delete(s);
    }
  }

  /** Emits identity.certificate.expiring when the certificate ends within the configured days. */
  checkCertificate(): void {
    const rule = this.deps.config.alerts.rules.certificateExpiry;
    if (!rule.enabled) return;
    const cert = this.deps.certificate();
    const daysLeft = Math.floor((Date.parse(cert.validTo) - this.now()) / 86_400_000);
    if (daysLeft <= rule.days) this.deps.audit.emit({ type: 'identity.certificate.expiring', validTo: cert.validTo, daysLeft, fingerprint: cert.fingerprint });
  }

  private observe(r: AuditRecord): void {
    for (const raised of this.rules.check(r)) this.raise(raised, r);
    if (r.type === 'auth.succeeded') {
      this.rules.checkAsync(r).then(
        (list) => list.forEach((raised) => this.raise(raised, r)),
        (err: Error) => this.deps.logger.warn({ err: err.message }, 'alert rule new-address-login failed'),
      );
    }
  }

  private raise(raised: Raised, record: AuditRecord): void {
    const key = `${raised.rule}\u0000${raised.subject}`;
    const now = this.now();
    const window = this.deps.config.alerts.suppressMinutes * 60_000;
    const last = this.lastSent.get(key);
    if (last !== undefined && now - last < window) return;
    this.lastSent.set(key, now);
    if (this.lastSent.size > 10_000) for (const [k, at] of this.lastSent) if (now - at >= window) this.lastSent.delete(k);
    const { seq: _s, prev: _p, hash: _h, ...plain } = record as Partial<ChainedRecord> & AuditRecord;
    void _s;
    void _p;
    void _h;
    const alert: Alert = { id: randomUUID(), rule: raised.rule, severity: raised.severity, summary: raised.summary, at: new Date(now).toISOString(), host: this.host, subject: raised.subject, ...(raised.user && { user: raised.user }), ...(raised.address && { address: raised.address }), record: plain };
    this.deps.audit.emit({ type: 'alert.raised', rule: alert.rule, severity: alert.severity, summary: alert.summary, ...(alert.user && { user: alert.user }), ...(alert.address && { remoteAddress: alert.address }) });
    for (const d of this.dispatchers) d.push(alert);
  }

  async idle(): Promise<void> {
    await Promise.all(this.dispatchers.map((d) => d.idle()));
  }

  stop(): void {
    this.unsubscribe();
    this.unwatch();
    clearInterval(this.pollTimer);
    clearInterval(this.certTimer);
    for (const d of this.dispatchers) d.stop();
  }
}
