// Raw SSH transport parsing: identification exchange and the server's KEXINIT (RFC 4253 §4.2, §7.1).
import type net from 'node:net';
import { ScanError } from './errors.ts';
import { LIMITS } from './limits.ts';

export interface KexInit {
  kex: string[];
  hostKey: string[];
  ciphersC2S: string[];
  ciphersS2C: string[];
  macsC2S: string[];
  macsS2C: string[];
  compressionC2S: string[];
  compressionS2C: string[];
  firstKexPacketFollows: boolean;
}

class Reader {
  private off = 0;
  constructor(private readonly b: Buffer) {}
  u8(): number {
    if (this.off + 1 > this.b.length) throw new ScanError('ERR_SCAN_PROTOCOL', 'truncated SSH packet');
    return this.b[this.off++]!;
  }
  u32(): number {
    if (this.off + 4 > this.b.length) throw new ScanError('ERR_SCAN_PROTOCOL', 'truncated SSH packet');
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  bytes(n: number): Buffer {
    if (this.off + n > this.b.length) throw new ScanError('ERR_SCAN_PROTOCOL', 'truncated SSH packet');
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  string(): Buffer {
    return this.bytes(this.u32());
  }
  nameList(): string[] {
    const s = this.string().toString('latin1');
    return s ? s.split(',') : [];
  }
}

/** Parse an SSH_MSG_KEXINIT payload (starting with the message number 20). */
export function parseKexInit(payload: Buffer): KexInit {
  const r = new Reader(payload);
  if (r.u8() !== 20) throw new ScanError('ERR_SCAN_PROTOCOL', 'first SSH packet is not KEXINIT');
  r.bytes(16);
  const k: KexInit = {
    kex: r.nameList(),
    hostKey: r.nameList(),
    ciphersC2S: r.nameList(),
    ciphersS2C: r.nameList(),
    macsC2S: r.nameList(),
    macsS2C: r.nameList(),
    compressionC2S: r.nameList(),
    compressionS2C: r.nameList(),
    firstKexPacketFollows: false,
  };
  r.nameList();
  r.nameList();
  k.firstKexPacketFollows = r.u8() !== 0;
  return k;
}

/** Parse a public host key blob: type and size in bits. */
export function parseHostKeyBlob(blob: Buffer): { type: string; bits: number } {
  const r = new Reader(blob);
  const type = r.string().toString('latin1');
  const mpintBits = (b: Buffer): number => {
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    if (i === b.length) return 0;
    return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
  };
  if (type === 'ssh-rsa') {
    r.string(); // e
    return { type, bits: mpintBits(r.string()) };
  }
  if (type === 'ssh-dss') return { type, bits: mpintBits(r.string()) };
  if (type.startsWith('ecdsa-sha2-')) {
    const curve = r.string().toString('latin1');
    const m = /(\d{3})/.exec(curve);
    return { type, bits: m ? Number(m[1]) : 0 };
  }
  if (type === 'ssh-ed25519') return { type, bits: 256 };
  if (type === 'ssh-ed448') return { type, bits: 456 };
  return { type, bits: 0 };
}

export interface SshHello {
  ident: string;
  preBanner: string[];
  kexinit?: KexInit;
}

/**
 * Exchange identifications and read the server's KEXINIT on a connected socket. Bounded: at most
 * LIMITS.maxSshPreBannerLines lines before the identification, LIMITS.maxSshPacketBytes per packet.
 */
export function readHello(sock: net.Socket, timeoutMs: number, clientIdent: string): Promise<SshHello> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let ident: string | undefined;
    const pre: string[] = [];
    const timer = setTimeout(() => done(new ScanError('ERR_SCAN_TIMEOUT', 'timed out waiting for the SSH identification/KEXINIT')), timeoutMs);
    function done(err: Error | undefined, v?: SshHello): void {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', onErr);
      sock.off('close', onClose);
      if (err) reject(err);
      else resolve(v!);
    }
    const onErr = (e: Error): void => done(e);
    const onClose = (): void => {
      if (ident && !ident.startsWith('SSH-2.0') && !ident.startsWith('SSH-1.99')) done(undefined, { ident, preBanner: pre });
      else done(new ScanError('ERR_SCAN_CLOSED', `connection closed before ${ident ? 'KEXINIT' : 'the SSH identification'}`));
    };
    function onData(chunk: Buffer): void {
      buf = Buffer.concat([buf, chunk]);
      try {
        while (ident === undefined) {
          const nl = buf.indexOf(0x0a);
          if (nl === -1) {
            if (buf.length > LIMITS.maxSshIdentBytes) throw new ScanError('ERR_SCAN_PROTOCOL', 'SSH identification line too long');
            return;
          }
          if (nl > LIMITS.maxSshIdentBytes) throw new ScanError('ERR_SCAN_PROTOCOL', 'SSH identification line too long');
          const line = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
          buf = buf.subarray(nl + 1);
          if (line.startsWith('SSH-')) {
            ident = line;
            if (!line.startsWith('SSH-2.0') && !line.startsWith('SSH-1.99')) {
              done(undefined, { ident, preBanner: pre });
              return;
            }
          } else {
            pre.push(line);
            if (pre.length > LIMITS.maxSshPreBannerLines) throw new ScanError('ERR_SCAN_PROTOCOL', 'too many lines before the SSH identification');
          }
        }
        if (buf.length < 5) return;
        const len = buf.readUInt32BE(0);
        if (len > LIMITS.maxSshPacketBytes || len < 5) throw new ScanError('ERR_SCAN_PROTOCOL', `bad SSH packet length ${len}`);
        if (buf.length < 4 + len) return;
        const pad = buf[4]!;
        const payload = buf.subarray(5, 4 + len - pad);
        done(undefined, { ident, preBanner: pre, kexinit: parseKexInit(payload) });
      } catch (err) {
        done(err as Error);
      }
    }
    sock.on('data', onData);
    sock.on('error', onErr);
    sock.on('close', onClose);
    sock.write(`${clientIdent}\r\n`);
  });
}
