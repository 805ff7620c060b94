// The data channel: passive listeners on the configured port range and active (PORT/EPRT)
// connections, both bound to the control connection's peer address.
import net from 'node:net';
import { normaliseAddress } from '../../net/connection.ts';

/** A refusal on the data channel, with its FTP reply. */
export class DataChannelError extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
  ) {
    super(text);
  }
}

/** Ports of the passive range in use by any connection of this adapter. */
export class PassivePorts {
  private readonly used = new Set<number>();
  constructor(readonly low: number, readonly high: number) {}

  /** Listens on a free port of the range; throws when none is free. */
  async listen(host: string, onSocket: (s: net.Socket) => void): Promise<net.Server> {
    const span = this.high - this.low + 1;
    const first = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const port = this.low + ((first + i) % span);
      if (this.used.has(port)) continue;
      this.used.add(port);
      const server = net.createServer({ noDelay: true, pauseOnConnect: true }, onSocket);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port, backlog: 4, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        server.once('close', () => this.used.delete(port));
        return server;
      } catch {
        this.used.delete(port);
      }
    }
    throw new Error('no free passive port');
  }
}

/** `h1,h2,h3,h4,p1,p2` → address and port, or null. */
export function parsePortArgument(arg: string): { address: string; port: number } | null {
  const m = /^\s*(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\s*$/.exec(arg);
  if (!m) return null;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return null;
  return { address: n.slice(0, 4).join('.'), port: n[4]! * 256 + n[5]! };
}

/** `|1|132.235.1.2|6275|` (any delimiter from 33 to 126) → address and port, or null. */
export function parseEprtArgument(arg: string): { address: string; port: number } | null {
  const d = arg.charAt(0);
  if (!d || d.charCodeAt(0) < 33 || d.charCodeAt(0) > 126) return null;
  const parts = arg.split(d);
  if (parts.length !== 5 || parts[0] !== '' || parts[4] !== '') return null;
  const [, proto, address, portText] = parts as [string, string, string, string, string];
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if ((proto === '1' && net.isIPv4(address)) || (proto === '2' && net.isIPv6(address))) return { address: normaliseAddress(address), port };
  return null;
}

export function formatPasvReply(address: string, port: number): string {
  return `Entering Passive Mode (${address.split('.').join(',')},${Math.floor(port / 256)},${port % 256})`;
}

export function formatEpsvReply(port: number): string {
  return `Entering Extended Passive Mode (|||${port}|)`;
}

/**
 * SECURITY: FTP bounce. Active connections go only to the control connection's peer, and
 * only to unprivileged ports.
 */
export function checkActiveTarget(target: { address: string; port: number }, peer: string): 'ok' | 'third-party' | 'privileged-port' {
  if (normaliseAddress(target.address) !== normaliseAddress(peer)) return 'third-party';
  if (target.port < 1024) return 'privileged-port';
  return 'ok';
}
