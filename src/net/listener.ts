// A TCP listener whose every accepted socket passes admission before the adapter sees it.
// TLS (implicit FTPS) is layered by the adapter after admission, so refused peers cost no
// handshake.
import net from 'node:net';
import type { Protocol } from '../audit/events.ts';
import type { Admission } from './admission.ts';
import type { ConnectionContext } from './connection.ts';
import { takeInheritedFd } from './inherited-listeners.ts';

export interface Listening {
  /** The listener's name for socket hand-over and activation: `sftp`, `ftps`, `ftps-implicit`. */
  name: string;
  server: net.Server;
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(options: {
  name: string;
  protocol: Protocol;
  address: string;
  port: number;
  admission: Admission;
  onConnection: (socket: net.Socket, ctx: ConnectionContext) => void;
}): Promise<Listening> {
  const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    socket.on('error', () => undefined); // errors end in 'close'; admission and adapters clean up there
    // The socket stays paused (pauseOnConnect) until admission has decided: no byte is read
    // from a peer that is refused.
    void options.admission.admit(socket, options.protocol).then((ctx) => {
      if (!ctx) return;
      options.onConnection(socket, ctx);
      socket.resume();
    }, () => socket.destroy());
  });
  let closing: Promise<void> | undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A socket handed over by the previous process or by systemd, else our own.
    const fd = takeInheritedFd(options.name);
    server.listen(fd === undefined ? { host: options.address, port: options.port } : { fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return {
    name: options.name,
    server,
    address: bound.address,
    port: bound.port,
    // Idempotent: the first call stops accepting; the promise settles when every connection is gone.
    close: () => (closing ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
