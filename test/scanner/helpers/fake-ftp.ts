// Deliberately configurable fake FTP/FTPS server for banner-only and policy cases. Loopback only.
import net from 'node:net';
import tls from 'node:tls';
import type { TestContext } from 'node:test';

export interface FakeFtpOptions {
  greeting: string;
  /** Serve implicit FTPS with these TLS options. */
  implicitTls?: tls.TlsOptions;
  /** Support AUTH TLS with these TLS options. */
  explicitTls?: tls.TlsOptions;
  feat?: string[];
  syst?: string;
  stat?: string;
  anonymous?: boolean;
  users?: Record<string, string>;
  /** Refuse USER before AUTH TLS (534). */
  requireTls?: boolean;
  /** Refuse PROT C (534). */
  requireProtP?: boolean;
  ccc?: boolean;
  pasvAddress?: string;
  portAccepted?: boolean;
  listing?: string;
  cpfrReply?: string;
  writable?: boolean;
  /** Disconnect (421) after this many failed logins on one connection. */
  maxLoginFails?: number;
  /** USER reply for a given name (user enumeration). */
  userReply?: (user: string) => string;
  /** Accept uploads and MKD but refuse DELE and RMD (probe files stay behind). */
  undeletable?: boolean;
  /** STAT reply after login (default: `stat`, else a bare 211). */
  loggedInStat?: string;
  /** Reset (TCP RST) every data connection: as soon as it is accepted, or once the transfer
   * command's preliminary reply has been sent. */
  resetData?: 'accept' | 'transfer';
}

export interface FakeFtp {
  port: number;
  url: string;
  /** Commands received, in order (for asserting what the scanner did and did not send). */
  commands: string[];
  /** Files stored (name → content). */
  files: Map<string, Buffer>;
  dirs: Set<string>;
}

export async function startFakeFtp(t: TestContext, o: FakeFtpOptions): Promise<FakeFtp> {
  const commands: string[] = [];
  const files = new Map<string, Buffer>();
  const dirs = new Set<string>();
  const sockets = new Set<net.Socket>();
  const servers: net.Server[] = [];
  const explicitCtx = o.explicitTls ? tls.createSecureContext(o.explicitTls) : undefined;
  const implicitCtx = o.implicitTls ? tls.createSecureContext(o.implicitTls) : undefined;
  const dataCtx = explicitCtx ?? implicitCtx;

  const handle = (sock0: net.Socket): void => {
    let sock: net.Socket = sock0;
    let secure = Boolean(o.implicitTls);
    let user: string | undefined;
    let loggedIn = false;
    let protP = false;
    let fails = 0;
    let pending: Promise<net.Socket> | undefined;
    let buf = '';
    const send = (s: string): boolean => sock.write(`${s}\r\n`);
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        commands.push(line);
        onLine(line).catch(() => undefined);
      }
    };
    const attach = (s: net.Socket): void => {
      sockets.add(s);
      s.on('data', onData);
      s.on('error', () => s.destroy());
    };
    const openPasv = async (): Promise<string> => {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as net.AddressInfo).port;
      pending = new Promise<net.Socket>((resolve) => {
        srv.once('connection', (d) => {
          sockets.add(d);
          d.on('error', () => d.destroy());
          srv.close();
          if (o.resetData === 'accept') d.resetAndDestroy();
          resolve(d);
        });
      });
      const addr = (o.pasvAddress ?? '127.0.0.1').split('.').join(',');
      return `227 Entering Passive Mode (${addr},${port >> 8},${port & 255}).`;
    };
    const dataSocket = async (): Promise<net.Socket> => {
      const raw = await pending!;
      pending = undefined;
      if (o.resetData === 'transfer') {
        raw.resetAndDestroy();
        send('426 Connection closed; transfer aborted.');
        throw new Error('data connection reset by the fake server');
      }
      if (!protP || !dataCtx) return raw;
      const ts = new tls.TLSSocket(raw, { isServer: true, secureContext: dataCtx });
      ts.on('error', () => ts.destroy());
      sockets.add(ts);
      return ts;
    };
    const onLine = async (line: string): Promise<void> => {
      const [cmdRaw, ...rest] = line.split(' ');
      const cmd = (cmdRaw ?? '').toUpperCase();
      const arg = rest.join(' ');
      switch (cmd) {
        case 'FEAT':
          if (o.feat) {
            send('211-Features:');
            for (const f of o.feat) send(` ${f}`);
            send('211 End');
          } else send('500 Unknown command.');
          return;
        case 'SYST':
          send(o.syst ?? '215 UNIX Type: L8');
          return;
        case 'STAT':
          send(loggedIn ? (o.loggedInStat ?? o.stat ?? '211 End of status') : (o.stat ?? '530 Please login with USER and PASS.'));
          return;
        case 'SITE':
          send(/^CPFR/i.test(arg) ? (o.cpfrReply ?? '530 Please login with USER and PASS.') : '500 Unknown SITE command.');
          return;
        case 'AUTH':
          if (!explicitCtx || secure) {
            send('502 AUTH not supported');
            return;
          }
          send('234 Proceed with negotiation.');
          sock.off('data', onData);
          {
            const ts = new tls.TLSSocket(sock, { isServer: true, secureContext: explicitCtx });
            ts.on('error', () => ts.destroy());
            sock = ts;
            secure = true;
            attach(ts);
          }
          return;
        case 'USER':
          if (o.requireTls && !secure) {
            send('530 Non-anonymous sessions must use encryption.');
            return;
          }
          user = arg;
          send(o.userReply ? o.userReply(arg) : '331 Please specify the password.');
          return;
        case 'PASS': {
          const anon = (user === 'anonymous' || user === 'ftp') && o.anonymous;
          if (anon || (user !== undefined && o.users?.[user] === arg)) {
            loggedIn = true;
            send('230 Login successful.');
          } else if (o.maxLoginFails !== undefined && ++fails >= o.maxLoginFails) {
            send('421 Too many failed logins.');
            sock.end();
          } else send('530 Login incorrect.');
          return;
        }
        case 'PBSZ':
          send(secure ? '200 PBSZ set to 0.' : '503 PBSZ needs a secure connection.');
          return;
        case 'PROT':
          if (arg.toUpperCase() === 'P' && secure) {
            protP = true;
            send('200 PROT now Private.');
          } else if (arg.toUpperCase() === 'C' && !o.requireProtP) {
            protP = false;
            send('200 PROT now Clear.');
          } else send('534 PROT C refused: data must be protected.');
          return;
        case 'CCC':
          send(o.ccc ? '200 CCC OK, clear command channel.' : '534 CCC refused.');
          return;
        case 'QUIT':
          send('221 Goodbye.');
          sock.end();
          return;
      }
      if (!loggedIn) {
        send('530 Please login with USER and PASS.');
        return;
      }
      switch (cmd) {
        case 'PASV':
          send(await openPasv());
          return;
        case 'EPSV':
          send('502 EPSV not supported');
          return;
        case 'PORT':
        case 'EPRT':
          send(o.portAccepted ? '200 PORT command successful.' : '500 Illegal PORT command.');
          return;
        case 'LIST':
        case 'NLST': {
          if (!pending) {
            send('425 Use PASV first.');
            return;
          }
          if (secure && !protP && o.requireProtP) {
            send('521 Data connections must be encrypted.');
            return;
          }
          send('150 Here comes the directory listing.');
          const d = await dataSocket();
          d.end(o.listing ?? '', () => send('226 Directory send OK.'));
          return;
        }
        case 'STOR': {
          if (!o.writable) {
            send('553 Could not create file.');
            return;
          }
          if (!pending) {
            send('425 Use PASV first.');
            return;
          }
          send('150 Ok to send data.');
          const d = await dataSocket();
          const chunks: Buffer[] = [];
          d.on('data', (c: Buffer) => chunks.push(c));
          d.on('end', () => {
            files.set(arg, Buffer.concat(chunks));
            send('226 Transfer complete.');
          });
          return;
        }
        case 'DELE':
          if (o.undeletable) send('550 Permission denied.');
          else send(files.delete(arg) ? '250 Delete operation successful.' : '550 Delete operation failed.');
          return;
        case 'MKD':
          if (!o.writable) send('550 Create directory operation failed.');
          else {
            dirs.add(arg);
            send(`257 "/${arg}" created`);
          }
          return;
        case 'RMD':
          if (o.undeletable) send('550 Permission denied.');
          else send(dirs.delete(arg) ? '250 Remove directory operation successful.' : '550 Remove directory operation failed.');
          return;
        default:
          send('502 Command not implemented.');
      }
    };
    attach(sock);
    sock.on('close', () => sockets.delete(sock));
    send(o.greeting);
  };

  const server = o.implicitTls
    ? tls.createServer({ ...o.implicitTls, secureContext: implicitCtx! }, handle)
    : net.createServer(handle);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  t.after(async () => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port, url: `${o.implicitTls ? 'ftps' : 'ftp'}://127.0.0.1:${port}`, commands, files, dirs };
}
