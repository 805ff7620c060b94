// Black-box probes of a running server from a chosen local address (127.0.0.x): an SFTP session
// with ssh2's client, and whether a connection is refused before any greeting. Used by the
// several-process tests (two nodes, workers), where each probe may land on another process.
import net from 'node:net';
import ssh2 from 'ssh2';

export type Probed = { ok: true; end: () => void; closed: Promise<void> } | { ok: false; why: string };

/** An SFTP session (password login, sftp subsystem), or why there is none. */
export function sftpSession(port: number, from: string, user: string, password: string): Promise<Probed> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    c.on('ready', () =>
      c.sftp((err) => {
        if (err) {
          c.end();
          resolve({ ok: false, why: `sftp: ${err.message}` });
        } else resolve({ ok: true, end: () => c.end(), closed: new Promise((r) => c.on('close', () => r())) });
      }),
    );
    c.on('error', (e) => resolve({ ok: false, why: `${(e as { level?: string }).level ?? ''} ${e.message}` }));
    c.connect({ host: '127.0.0.1', port, localAddress: from, username: user, password, readyTimeout: 15_000 });
  });
}

/** True when a connection from `from` is closed before any greeting (refused at admission). */
export function refusedBeforeGreeting(port: number, from: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let got = '';
    sock.on('data', (c: Buffer) => {
      got += c.toString();
      sock.destroy();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(got === ''));
    sock.setTimeout(3_000, () => sock.destroy());
  });
}
