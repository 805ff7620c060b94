// Syslog channel: RFC 5424 messages over UDP (RFC 5426: one per datagram) or TCP (RFC 6587
// octet counting, one connection per alert).
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { LIMITS } from '../../config/limits.ts';
import type { Config } from '../../config/schema.ts';
import type { Alert, AlertChannel, Severity } from '../alert.ts';

type SyslogConfig = Config['alerts']['syslog'];

const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp'];
const SEVERITY: Record<Severity, number> = { critical: 2, warning: 4, notice: 5 };
/** Private enterprise number 32473 is reserved for documentation and examples (RFC 5612). */
const SD_ID = 'portcullis@32473';

function facilityCode(name: SyslogConfig['facility']): number {
  const local = /^local([0-7])$/.exec(name);
  return local ? 16 + Number(local[1]) : FACILITIES.indexOf(name);
}

/** PRINTUSASCII only, for header fields; `-` when empty (the NILVALUE). */
const header = (s: string, max: number) => s.replace(/[^\x21-\x7e]/g, '').slice(0, max) || '-';
/** SD-PARAM values escape `"`, `\` and `]` (RFC 5424 §6.3.3); control characters are dropped. */
// eslint-disable-next-line no-control-regex
const param = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, '').replace(/["\\\]]/g, '\\$&').slice(0, 256);

export function formatSyslog(alert: Alert, options: { facility: SyslogConfig['facility']; appName: string; hostname?: string; pid?: number }): string {
  const pri = facilityCode(options.facility) * 8 + SEVERITY[alert.severity];
  const params = [['rule', alert.rule], ['severity', alert.severity], ['id', alert.id], ...(alert.user ? [['user', alert.user]] : []), ...(alert.address ? [['address', alert.address]] : [])]
    .map(([k, v]) => `${k}="${param(v!)}"`)
    .join(' ');
  // eslint-disable-next-line no-control-regex
  const msg = alert.summary.replace(/[\x00-\x1f\x7f]/g, ' ');
  const line = `<${pri}>1 ${alert.at} ${header(options.hostname ?? os.hostname(), 255)} ${header(options.appName, 48)} ${options.pid ?? process.pid} ${header(alert.rule, 32)} [${SD_ID} ${params}] ${msg}`;
  const bytes = Buffer.from(line);
  return bytes.length <= LIMITS.syslogMaxMessageBytes ? line : bytes.subarray(0, LIMITS.syslogMaxMessageBytes).toString('utf8').replace(/\uFFFD$/, '');
}

export class SyslogChannel implements AlertChannel {
  readonly name = 'syslog';
  private socket: dgram.Socket | null = null;

  constructor(private readonly config: SyslogConfig & { host: string }) {}

  async send(alert: Alert): Promise<void> {
    const line = formatSyslog(alert, { facility: this.config.facility, appName: this.config.appName });
    if (this.config.transport === 'udp') {
      if (!this.socket) {
        this.socket = dgram.createSocket(net.isIPv6(this.config.host) ? 'udp6' : 'udp4');
        this.socket.on('error', () => undefined);
        this.socket.unref();
      }
      const sock = this.socket;
      await new Promise<void>((resolve, reject) => sock.send(line, this.config.port, this.config.host, (err) => (err ? reject(err) : resolve())));
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect({ host: this.config.host, port: this.config.port });
      sock.setTimeout(LIMITS.alertTimeoutMs, () => sock.destroy(new Error('syslog TCP timeout')));
      sock.once('error', reject);
      sock.once('connect', () => {
        const data = Buffer.from(line);
        sock.end(Buffer.concat([Buffer.from(`${data.length} `), data]), () => resolve());
      });
    });
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}
