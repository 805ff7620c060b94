// Webhook channel: a JSON POST per alert, signed so the receiver can trust it:
//   X-Portcullis-Timestamp: unix seconds
//   X-Portcullis-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
// The receiver recomputes the HMAC over the raw body and rejects old timestamps (replays).
import { createHmac } from 'node:crypto';
import { LIMITS } from '../../config/limits.ts';
import { alertPayload, type Alert, type AlertChannel } from '../alert.ts';

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class WebhookChannel implements AlertChannel {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly secret: string,
  ) {}

  async send(alert: Alert): Promise<void> {
    const body = JSON.stringify(alertPayload(alert));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'portcullis-alerts',
        'x-portcullis-delivery': alert.id,
        'x-portcullis-timestamp': timestamp,
        'x-portcullis-signature': signWebhook(this.secret, timestamp, body),
      },
      body,
      redirect: 'error', // SECURITY: never re-send a signed alert wherever a redirect points
      signal: AbortSignal.timeout(LIMITS.alertTimeoutMs),
    });
    await res.body?.cancel();
    if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered ${res.status}`);
  }
}
