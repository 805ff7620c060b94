// Email channel: one message per alert through SMTP (nodemailer). STARTTLS is required unless
// the operator turns requireTLS off (e.g. a relay on localhost).
import nodemailer, { type Transporter } from 'nodemailer';
import { LIMITS } from '../../config/limits.ts';
import type { Config } from '../../config/schema.ts';
import { alertPayload, type Alert, type AlertChannel } from '../alert.ts';

type EmailConfig = Config['alerts']['email'];

export class EmailChannel implements AlertChannel {
  readonly name = 'email';
  private readonly transport: Transporter;

  constructor(private readonly config: EmailConfig & { host: string }) {
    this.transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: !config.secure && config.requireTLS,
      auth: config.username ? { user: config.username, pass: config.password ?? '' } : undefined,
      connectionTimeout: LIMITS.alertTimeoutMs,
      greetingTimeout: LIMITS.alertTimeoutMs,
      socketTimeout: LIMITS.alertTimeoutMs,
    });
  }

  async send(alert: Alert): Promise<void> {
    // eslint-disable-next-line no-control-regex
    const subject = `[portcullis] ${alert.severity}: ${alert.summary}`.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);
    await this.transport.sendMail({
      from: this.config.from,
      to: this.config.to,
      subject,
      text: `${alert.summary}\n\nrule: ${alert.rule}\nseverity: ${alert.severity}\nat: ${alert.at}\nhost: ${alert.host}\n\n${JSON.stringify(alertPayload(alert), null, 2)}\n`,
    });
  }

  close(): void {
    this.transport.close();
  }
}
