// The data channel: passive listeners on the configured port range and active (PORT/EPRT)
// connections, both bound to the control connection's peer address.
import net from 'node:net';
import { LIMITS } from '../../config/limits.ts';
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

/** Who holds a passive listener: counted against the per-user and per-address caps. */
export interface PassiveOwner {
  user: string;
  address: string;
}

/** Which cap a passive listener would exceed, or null. */
export type PassiveRefusal = 'user' | 'address';

/**
 * Ports of the passive range in use by any connection of this adapter, and how many each user
 * and each client address holds (SECURITY: a few accounts must not hold the whole range).
 */
export class PassivePorts {
  private readonly used = new Set<number>();
  private readonly byUser = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  constructor(
    readonly low: number,
    readonly high: number,
    private readonly caps: { perUser: number; perAddress: number } = { perUser: LIMITS.ftpPassivePendingPerUser, perAddress: LIMITS.ftpPassivePendingPerAddress },
  ) {}

  /** Which cap a new listener for `owner` would exceed, or null. */
  check(owner: PassiveOwner): PassiveRefusal | null {
    if ((this.byUser.get(owner.user) ?? 0) >= this.caps.perUser) return 'user';
    if ((this.byAddress.get(owner.address) ?? 0) >= this.caps.perAddress) return 'address';
    return null;
  }

  /**
   * Listens on a free port of the range for `owner`; throws a DataChannelError when a cap is
   * reached (check first to say which) or no port is free. The listener counts until it closes.
   */
  async listen(host: string, owner: PassiveOwner, onSocket: (s: net.Socket) => void): Promise<net.Server> {
    if (this.check(owner)) throw new DataChannelError(425, 'Too many data connections waiting for this account or address');
    const span = this.high - this.low + 1;
    const first = Math.floor(Math.random() * span);
    // Counted before the first await: concurrent sessions of one user cannot pass the cap together.
    count(this.byUser, owner.user, 1);
    count(this.byAddress, owner.address, 1);
    const release = (): void => {
      count(this.byUser, owner.user, -1);
      count(this.byAddress, owner.address, -1);
    };
    for (let i = 0; i < span; i++) {
      const port = this.low + ((first + i) % span);
      if (this.used.has(port)) continue;
      this.used.add(port);
      // The caps count listeners waiting for their data connection: released when the listener
      // stops listening (close(): on accept, on a new PASV, on expiry), not when the transfer
      // it accepted ends. The port stays reserved until then.
      const server = new PassiveListener(release, onSocket);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port, backlog: 4, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        server.once('close', () => {
          this.used.delete(port);
          server.stop();
        });
        return server;
      } catch {
        this.used.delete(port);
      }
    }
    release();
    throw new DataChannelError(425, 'No passive port free; try again later');
  }
}

/** A passive listener that tells its owner's count once, when it stops listening. */
class PassiveListener extends net.Server {
  constructor(
    private onStop: (() => void) | null,
    onSocket: (s: net.Socket) => void,
  ) {
    super({ noDelay: true, pauseOnConnect: true }, onSocket);
  }

  stop(): void {
    const f = this.onStop;
    this.onStop = null;
    f?.();
  }

  override close(callback?: (err?: Error) => void): this {
    this.stop();
    return super.close(callback);
  }
}

function count(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
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
