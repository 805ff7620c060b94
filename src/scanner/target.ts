import net from 'node:net';
import type { Scheme, Target } from './types.ts';
import { ScanError } from './errors.ts';

const DEFAULT_PORTS: Record<Scheme, number> = { ftp: 21, ftps: 990, sftp: 22 };

/** Parse a scan target URL (`ftp://`, `ftps://`, `sftp://`). Throws ScanError on anything else. */
export function parseTarget(input: string): Target {
  let u: URL;
  try {
    u = new URL(input);
  } catch (cause) {
    throw new ScanError('ERR_SCAN_BAD_TARGET', `not a URL: ${input}`, { cause });
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'ftp' && scheme !== 'ftps' && scheme !== 'sftp') {
    throw new ScanError('ERR_SCAN_BAD_TARGET', `unsupported scheme "${scheme}" in ${input} (use ftp://, ftps:// or sftp://)`);
  }
  if (u.username || u.password) {
    // SECURITY: credentials in a URL end up in shell history and reports; refuse them.
    throw new ScanError('ERR_SCAN_BAD_TARGET', 'credentials in the URL are not accepted; use --user and --password-stdin');
  }
  let host = u.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!host) throw new ScanError('ERR_SCAN_BAD_TARGET', `no host in ${input}`);
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[scheme];
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ScanError('ERR_SCAN_BAD_TARGET', `bad port in ${input}`);
  }
  const hostPart = net.isIPv6(host) ? `[${host}]` : host;
  return { url: `${scheme}://${hostPart}:${port}`, scheme, host, port };
}
