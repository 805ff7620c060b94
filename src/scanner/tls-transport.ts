// The socket every TLS probe starts from: implicit FTPS connects straight to the TLS port, explicit
// FTPS first asks AUTH TLS (then AUTH SSL) on the control connection and needs 234.
import type net from 'node:net';
import type { TargetScan } from './context.ts';
import { ScanError } from './errors.ts';
import { connectTcp, FtpConnection, formatReply } from './ftp-client.ts';

/** A TCP socket ready for a ClientHello, under the target's connection budget; call release() when done. */
export async function rawTlsSocket(s: TargetScan): Promise<{ socket: net.Socket; release: () => void }> {
  const release = await s.budget.acquire();
  try {
    if (s.target.scheme === 'ftps') {
      const socket = await connectTcp(s.target.host, s.target.port, s.options.timeoutMs, s.signal);
      return { socket, release };
    }
    const { conn } = await FtpConnection.connect({ host: s.target.host, port: s.target.port, implicitTls: false, timeoutMs: s.options.timeoutMs, signal: s.signal });
    let r = await conn.cmd('AUTH TLS');
    if (r.code !== 234) r = await conn.cmd('AUTH SSL');
    if (r.code !== 234) {
      conn.close();
      throw new ScanError('ERR_SCAN_PROTOCOL', `AUTH TLS refused: ${formatReply(r)}`);
    }
    return { socket: conn.release(), release };
  } catch (err) {
    release();
    throw err;
  }
}
