// Prometheus metrics, fed by one subscriber to the audit events (never by calls in handlers),
// plus gauges read at scrape time from the live core. Served at /metrics on the operations
// listener. Labels are bounded sets (protocol, method, outcome, op, error code): never a user
// name, an address or a path.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';

export interface LiveSources {
  connections(): number;
  sessions(): number;
  bans(): number;
}

/** `publickey SHA256:…` → `publickey`: labels never carry a fingerprint. */
const methodLabel = (m: string) => m.split(' ')[0]!.slice(0, 32);

export class Metrics {
  readonly registry = new Registry();
  private readonly unsubscribe: () => void;
  private readonly connections: Counter<'protocol'>;
  private readonly refused: Counter<'protocol' | 'code'>;
  private readonly auth: Counter<'protocol' | 'method' | 'outcome'>;
  private readonly mfaFailures: Counter<'protocol'>;
  private readonly bansAdded: Counter<'source'>;
  private readonly bytes: Counter<'protocol' | 'direction'>;
  private readonly transfers: Counter<'protocol' | 'direction' | 'outcome'>;
  private readonly duration: Histogram<'protocol' | 'direction'>;
  private readonly fileOps: Counter<'protocol' | 'op' | 'outcome'>;
  private readonly errors: Counter<'code'>;
  private readonly malformed: Counter<'protocol'>;
  private readonly timeouts: Counter<'protocol'>;
  private readonly alerts: Counter<'rule'>;
  private readonly deliveries: Counter<'channel' | 'outcome'>;

  constructor(audit: Audit, live: LiveSources) {
    const registers = [this.registry];
    this.connections = new Counter({ name: 'portcullis_connections_total', help: 'Connections admitted, by protocol', labelNames: ['protocol'], registers });
    this.refused = new Counter({ name: 'portcullis_connections_refused_total', help: 'Connections refused at admission, by protocol and error code', labelNames: ['protocol', 'code'], registers });
    new Gauge({ name: 'portcullis_connections_active', help: 'Connections open now', registers, collect() { this.set(live.connections()); } });
    new Gauge({ name: 'portcullis_sessions_active', help: 'Authenticated sessions open now', registers, collect() { this.set(live.sessions()); } });
    this.auth = new Counter({ name: 'portcullis_authentications_total', help: 'Authentication steps by protocol, method and outcome (success, partial, failure)', labelNames: ['protocol', 'method', 'outcome'], registers });
    this.mfaFailures = new Counter({ name: 'portcullis_mfa_failures_total', help: 'Failed second-factor (one-time code) steps', labelNames: ['protocol'], registers });
    new Gauge({ name: 'portcullis_bans_active', help: 'Addresses banned now', registers, collect() { this.set(live.bans()); } });
    this.bansAdded = new Counter({ name: 'portcullis_bans_added_total', help: 'Bans added, by source (defender, cli)', labelNames: ['source'], registers });
    this.bytes = new Counter({ name: 'portcullis_transfer_bytes_total', help: 'File bytes transferred (counted when a transfer ends), by protocol and direction (in: upload, out: download)', labelNames: ['protocol', 'direction'], registers });
    this.transfers = new Counter({ name: 'portcullis_transfers_total', help: 'File transfers by protocol, direction and outcome', labelNames: ['protocol', 'direction', 'outcome'], registers });
    this.duration = new Histogram({ name: 'portcullis_transfer_duration_seconds', help: 'Duration of file transfers', labelNames: ['protocol', 'direction'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200], registers });
    this.fileOps = new Counter({ name: 'portcullis_file_operations_total', help: 'File operations by protocol, operation and outcome', labelNames: ['protocol', 'op', 'outcome'], registers });
    this.errors = new Counter({ name: 'portcullis_errors_total', help: 'Audited errors by code', labelNames: ['code'], registers });
    this.malformed = new Counter({ name: 'portcullis_protocol_malformed_total', help: 'Malformed protocol input', labelNames: ['protocol'], registers });
    this.timeouts = new Counter({ name: 'portcullis_session_timeouts_total', help: 'Connections closed by the login or idle timer', labelNames: ['protocol'], registers });
    this.alerts = new Counter({ name: 'portcullis_alerts_total', help: 'Alerts raised (after duplicate suppression), by rule', labelNames: ['rule'], registers });
    this.deliveries = new Counter({ name: 'portcullis_alert_deliveries_total', help: 'Alert deliveries by channel and outcome (delivered, failed after retries, dropped from a full queue)', labelNames: ['channel', 'outcome'], registers });
    this.unsubscribe = audit.subscribe((r) => this.observe(r));
  }

  private observe(r: AuditRecord): void {
    const protocol = r.protocol ?? 'none';
    if ('code' in r && typeof r.code === 'string') this.errors.inc({ code: r.code });
    switch (r.type) {
      case 'conn.accepted':
        this.connections.inc({ protocol });
        break;
      case 'conn.refused':
        this.refused.inc({ protocol, code: r.code });
        break;
      case 'auth.succeeded':
        this.auth.inc({ protocol, method: r.methods.map(methodLabel).sort().join('+') || 'none', outcome: 'success' });
        break;
      case 'auth.partial':
        this.auth.inc({ protocol, method: methodLabel(r.method), outcome: 'partial' });
        break;
      case 'auth.failed':
        this.auth.inc({ protocol, method: methodLabel(r.method), outcome: 'failure' });
        break;
      case 'policy.ban.added':
        this.bansAdded.inc({ source: r.source });
        break;
      case 'protocol.malformed':
        this.malformed.inc({ protocol });
        break;
      case 'alert.raised':
        this.alerts.inc({ rule: r.rule });
        break;
      case 'session.timeout':
        this.timeouts.inc({ protocol });
        break;
      case 'file.operation': {
        this.fileOps.inc({ protocol, op: r.op, outcome: r.outcome });
        if (r.op !== 'upload' && r.op !== 'download') break;
        const direction = r.op === 'upload' ? 'in' : 'out';
        this.transfers.inc({ protocol, direction, outcome: r.outcome });
        if (r.bytes) this.bytes.inc({ protocol, direction }, r.bytes);
        if (r.durationMs !== undefined) this.duration.observe({ protocol, direction }, r.durationMs / 1000);
        break;
      }
      case 'auth.mfa.failed': // (its auth.failed with method totp is counted above, not here)
        this.mfaFailures.inc({ protocol });
        break;
      default:
    }
  }

  /** Called by the alert dispatchers (deliveries are not audit events). */
  alertDelivery(channel: string, outcome: string): void {
    this.deliveries.inc({ channel, outcome });
  }

  close(): void {
    this.unsubscribe();
    this.registry.clear();
  }
}
