// A deliberately vulnerable (or hostile) implicit-FTPS endpoint for check 29 (tls.known-vulns).
// A front TCP server looks at each connection's first ClientHello: the scanner's raw probes (an
// SSLv2 hello, or a hello without OpenSSL's extended_master_secret extension) are answered here with
// crafted records; everything else (Node's OpenSSL, used by the other probes) is proxied to a
// normal Node implicit-FTPS fake, so the rest of the scan runs as usual. Loopback only.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { TestContext } from 'node:test';
import { goodCert } from './certs.ts';
import { startFakeFtp } from './fake-ftp.ts';

export type Vuln = 'heartbleed' | 'ccs' | 'sslv3' | 'sslv2' | 'no-reneg' | 'ticketbleed';
export type Hostile = 'garbage' | 'absurd-record' | 'absurd-handshake' | 'absurd-session-id' | 'silent' | 'flood' | 'truncated';

export interface FakeVulnTlsOptions {
  vulns?: Vuln[];
  /** Answer every raw probe with hostile input instead. */
  hostile?: Hostile;
  /** Bytes the Heartbleed fake "leaks" (to prove the scanner never keeps them). */
  leak?: Buffer;
}

export interface FakeVulnTls {
  url: string;
  /** Raw probe connections answered by the fake (not proxied). */
  rawConnections: number;
}

interface Hello {
  version: number;
  ciphers: number[];
  sessionId: Buffer;
  extensions: Map<number, Buffer>;
}

function parseClientHello(rec: Buffer): Hello | undefined {
  try {
    let o = 5 + 4; // record header, handshake header
    const version = rec.readUInt16BE(o);
    o += 2 + 32;
    const sid = rec.subarray(o + 1, o + 1 + rec[o]!);
    o += 1 + sid.length;
    const cl = rec.readUInt16BE(o);
    const ciphers: number[] = [];
    for (let i = 0; i < cl; i += 2) ciphers.push(rec.readUInt16BE(o + 2 + i));
    o += 2 + cl;
    o += 1 + rec[o]!;
    const extensions = new Map<number, Buffer>();
    if (o < rec.length) {
      const end = o + 2 + rec.readUInt16BE(o);
      o += 2;
      while (o < end) {
        const type = rec.readUInt16BE(o);
        const len = rec.readUInt16BE(o + 2);
        extensions.set(type, rec.subarray(o + 4, o + 4 + len));
        o += 4 + len;
      }
    }
    return { version, ciphers, sessionId: Buffer.from(sid), extensions };
  } catch {
    return undefined;
  }
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const record = (type: number, version: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type]), u16(version), u16(body.length), body]);
const handshake = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
const alert = (version: number, description: number): Buffer => record(21, version, Buffer.from([2, description]));

function serverHello(version: number, cipher: number, sessionId: Buffer, exts: [number, Buffer][], sidLenOverride?: number): Buffer {
  const extBytes = Buffer.concat(exts.map(([t, d]) => Buffer.concat([u16(t), u16(d.length), d])));
  const body = Buffer.concat([
    u16(version), randomBytes(32), Buffer.from([sidLenOverride ?? sessionId.length]), sessionId, u16(cipher), Buffer.from([0]),
    ...(exts.length ? [u16(extBytes.length), extBytes] : []),
  ]);
  return handshake(2, body);
}

export async function startFakeVulnTls(t: TestContext, o: FakeVulnTlsOptions = {}): Promise<FakeVulnTls> {
  const cert = goodCert(t);
  const backend = await startFakeFtp(t, { greeting: '220 FTPS ready', implicitTls: { key: cert.key, cert: cert.cert, minVersion: 'TLSv1.2' } });
  const vulns = new Set(o.vulns ?? []);
  const sockets = new Set<net.Socket>();
  const state: FakeVulnTls = { url: '', rawConnections: 0 };

  const answerRaw = (sock: net.Socket, first: Buffer): void => {
    state.rawConnections++;
    const hostile = o.hostile;
    if (hostile === 'silent') return; // read everything, say nothing
    if (hostile === 'garbage') {
      sock.write(Buffer.concat([Buffer.from('GARBAGE '), randomBytes(200)]));
      return;
    }
    if (hostile === 'absurd-record') {
      sock.write(Buffer.concat([Buffer.from([22, 3, 3, 0xff, 0xff]), randomBytes(100)]));
      return;
    }
    if (hostile === 'absurd-handshake') {
      sock.write(record(22, 0x0303, Buffer.concat([Buffer.from([2, 0xff, 0xff, 0xff]), randomBytes(60)])));
      return;
    }
    if (hostile === 'absurd-session-id') {
      sock.write(record(22, 0x0303, serverHello(0x0303, 0xc02f, randomBytes(32), [], 0xff)));
      return;
    }
    if (hostile === 'truncated') {
      // a ServerHello record cut short, then the connection ends
      sock.end(record(22, 0x0303, serverHello(0x0303, 0xc02f, randomBytes(32), [])).subarray(0, 30));
      return;
    }
    if (hostile === 'flood') {
      // a valid ServerHello, then an endless certificate that is never complete
      sock.write(record(22, 0x0303, serverHello(0x0303, 0xc02f, randomBytes(32), [[0xff01, Buffer.from([0])]])));
      sock.write(record(22, 0x0303, Buffer.from([11, 0x01, 0xff, 0x00])));
      const chunk = record(22, 0x0303, Buffer.alloc(16000, 0x41));
      const pump = (): void => {
        while (!sock.destroyed && sock.write(chunk));
      };
      sock.on('drain', pump);
      pump();
      return;
    }

    if (first[0]! & 0x80) {
      // SSLv2 CLIENT-HELLO
      if (!vulns.has('sslv2')) {
        sock.destroy();
        return;
      }
      const certBytes = Buffer.alloc(300, 0x30);
      const specs = Buffer.from([0x01, 0x00, 0x80, 0x02, 0x00, 0x80, 0x07, 0x00, 0xc0]);
      const connId = randomBytes(16);
      const body = Buffer.concat([Buffer.from([4, 0, 1]), u16(0x0002), u16(certBytes.length), u16(specs.length), u16(connId.length), certBytes, specs, connId]);
      sock.write(Buffer.concat([Buffer.from([0x80 | (body.length >> 8), body.length & 0xff]), body]));
      return;
    }
    const hello = parseClientHello(first);
    if (!hello) {
      sock.destroy();
      return;
    }
    if (hello.version === 0x0300) {
      if (!vulns.has('sslv3')) {
        sock.end(alert(0x0300, 40));
        return;
      }
      const cipher = hello.ciphers.find((c) => c === 0x002f || c === 0x0035) ?? hello.ciphers[0]!;
      sock.write(record(22, 0x0300, Buffer.concat([serverHello(0x0300, cipher, randomBytes(32), []), handshake(14, Buffer.alloc(0))])));
      return;
    }
    const version = 0x0303;
    const cipher = hello.ciphers.find((c) => c === 0xc02f) ?? hello.ciphers.find((c) => c !== 0x00ff)!;
    const exts: [number, Buffer][] = [];
    if (!vulns.has('no-reneg')) exts.push([0xff01, Buffer.from([0])]);
    if (vulns.has('heartbleed') && hello.extensions.has(15)) exts.push([15, Buffer.from([1])]);
    const ticket = hello.extensions.get(35);
    if (ticket && ticket.length > 0 && vulns.has('ticketbleed')) {
      // Resume, echoing a 32-byte session id of which only the first byte came from the client.
      const sid = Buffer.concat([hello.sessionId, randomBytes(32 - hello.sessionId.length)]);
      sock.write(Buffer.concat([record(22, version, serverHello(version, cipher, sid, exts)), record(20, version, Buffer.from([1]))]));
      return;
    }
    if (ticket !== undefined) exts.push([35, Buffer.alloc(0)]);
    const certMsg = handshake(11, Buffer.from([0, 0, 0])); // an empty certificate list: never verified by these probes
    sock.write(record(22, version, Buffer.concat([serverHello(version, cipher, randomBytes(32), exts), certMsg, handshake(14, Buffer.alloc(0))])));
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
        const type = buf[0]!;
        const len = buf.readUInt16BE(3);
        buf = buf.subarray(5 + len);
        if (type === 24) {
          if (vulns.has('heartbleed')) {
            // the over-read: 16384 bytes "from memory" plus 16 bytes of padding
            const leak = Buffer.alloc(16384, o.leak ?? Buffer.from('server-memory '));
            sock.write(record(24, version, Buffer.concat([Buffer.from([2, 0x40, 0x00]), leak, randomBytes(16)])));
          } else {
            sock.end(alert(version, 10));
          }
        } else if (type === 20) {
          if (!vulns.has('ccs')) sock.end(alert(version, 10));
          // vulnerable: the early ChangeCipherSpec is silently accepted
        } else {
          sock.end(alert(version, 10));
        }
      }
    });
  };

  const front = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const isSsl2 = (buf[0]! & 0x80) !== 0;
      if (!isSsl2) {
        if (buf.length < 5 || buf.length < 5 + buf.readUInt16BE(3)) return;
      }
      sock.off('data', onData);
      const hello = isSsl2 ? undefined : parseClientHello(buf);
      // OpenSSL always sends extended_master_secret (23); the scanner's raw hellos never do.
      if (isSsl2 || buf[0] !== 22 || !hello?.extensions.has(23)) {
        answerRaw(sock, buf);
        return;
      }
      const up = net.connect({ host: '127.0.0.1', port: backend.port });
      sockets.add(up);
      up.on('close', () => {
        sockets.delete(up);
        sock.destroy();
      });
      up.on('error', () => up.destroy());
      sock.on('close', () => up.destroy());
      up.write(buf);
      sock.pipe(up);
      up.pipe(sock);
    };
    sock.on('data', onData);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => front.close(() => resolve()));
  });
  state.url = `ftps://127.0.0.1:${(front.address() as net.AddressInfo).port}`;
  return state;
}
