// Audit events are published on node:diagnostics_channel; sinks (JSON lines, the store, and
// later metrics and alerts) subscribe. Publishing never throws into the caller.
import diagnosticsChannel from 'node:diagnostics_channel';
import { eventName, type AuditEvent, type AuditRecord } from './events.ts';

export const AUDIT_CHANNEL = 'portcullis:audit';

export type AuditSubscriber = (record: AuditRecord) => void;

export class Audit {
  readonly channel = diagnosticsChannel.channel(AUDIT_CHANNEL);
  private readonly subscribers = new Set<(msg: unknown) => void>();

  emit(event: AuditEvent): void {
    if (!this.channel.hasSubscribers) return;
    const record = { ts: new Date().toISOString(), event: eventName(event), ...event };
    this.channel.publish(record);
  }

  subscribe(fn: AuditSubscriber): () => void {
    const wrapped = (msg: unknown): void => {
      try {
        fn(msg as AuditRecord);
      } catch {
        // a failing sink must not break the operation that emitted the event
      }
    };
    this.subscribers.add(wrapped);
    this.channel.subscribe(wrapped);
    return () => {
      this.channel.unsubscribe(wrapped);
      this.subscribers.delete(wrapped);
    };
  }

  close(): void {
    for (const s of this.subscribers) this.channel.unsubscribe(s);
    this.subscribers.clear();
  }
}
