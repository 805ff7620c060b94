// An alert: what a rule raised, as every channel receives it.
import type { AuditRecord } from '../audit/events.ts';

export type Severity = 'critical' | 'warning' | 'notice';

export interface Alert {
  id: string;
  /** Rule name: ban-added, mfa-failures, new-address-login, download-volume, admin-change, config-reload-failed, certificate-expiry, doctor-change, or a custom rule's name. */
  rule: string;
  severity: Severity;
  /** One line for people. */
  summary: string;
  at: string;
  host: string;
  user?: string;
  address?: string;
  /** Duplicate suppression: the same rule and subject alert once per window. */
  subject: string;
  /** The audit record that raised it (without its chain fields). */
  record?: AuditRecord;
}

/** A delivery channel. `send` rejects on failure; the dispatcher retries. */
export interface AlertChannel {
  readonly name: string;
  send(alert: Alert): Promise<void>;
  close?(): void;
}

/** The JSON body every channel that carries structure uses. */
export function alertPayload(alert: Alert): Record<string, unknown> {
  const { subject: _s, ...rest } = alert;
  void _s;
  return rest;
}
