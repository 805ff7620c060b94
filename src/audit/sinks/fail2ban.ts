// One line per authentication failure in DATADIR/log/auth-failures.log, in a fixed format a
// fail2ban filter can match (docs/fail2ban.md):
//   2026-11-21T14:00:00.000Z portcullis: authentication failure from 203.0.113.7 protocol=sftp user="alice" reason=bad-credentials
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Audit } from '../audit.ts';
import type { AuditRecord } from '../events.ts';

export function formatFail2banLine(r: AuditRecord): string | null {
  if (r.type !== 'auth.failed' || !r.remoteAddress || r.protocol === 'cli') return null;
  // SECURITY: the user name is attacker-chosen: quote it and strip anything that could forge a line.
  const user = (r.user ?? '').replace(/[^\x21-\x7e]/g, '?').replace(/["\\]/g, '?').slice(0, 64);
  return `${r.ts} portcullis: authentication failure from ${r.remoteAddress} protocol=${r.protocol ?? '-'} user="${user}" reason=${r.reason}\n`;
}

export class Fail2banSink {
  private readonly stream: WriteStream;
  private readonly unsubscribe: () => void;

  constructor(audit: Audit, dataDir: string) {
    const dir = path.join(dataDir, 'log');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.stream = createWriteStream(path.join(dir, 'auth-failures.log'), { flags: 'a', mode: 0o600 });
    this.stream.on('error', (err) => process.emitWarning(`fail2ban log: ${err.message}`));
    this.unsubscribe = audit.subscribe((r) => {
      const line = formatFail2banLine(r);
      if (line) this.stream.write(line);
    });
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
