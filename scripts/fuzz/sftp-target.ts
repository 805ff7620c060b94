// Fuzz target: the SFTP packet decoder (framing, field readers) and the request table, driven in
// process: each input is a sequence of SFTP packets fed to a fresh SftpServer over an in-memory
// channel, on a real Session over a real home directory (the local Vfs). No SSH layer: the
// transport is not what is being fuzzed here (ssh2 is), and without it a million inputs take
// minutes.
import { Duplex } from 'node:stream';
import type { Session } from '../../src/session/session.ts';
import { FXP } from '../../src/protocols/sftp/constants.ts';
import { PacketWriter } from '../../src/protocols/sftp/packet.ts';
import { SftpServer } from '../../src/protocols/sftp/sftp-server.ts';
import { LIMITS } from '../../src/config/limits.ts';
import { mutateBytes, type Rng } from './mutate.ts';
import type { Target } from './target.ts';

/** Packets without their length; `rawLength` sends one packet's length wrong on purpose. */
export interface SftpInput {
  packets: Buffer[];
  rawLength?: { index: number; value: number };
}

const h = (n: number) => Buffer.from([0, 0, 0, n]);
const payload = (w: PacketWriter) => w.finish().subarray(4);
const attrs = (w: PacketWriter, mode?: number) => (mode === undefined ? w.u32(0) : w.u32(0x4).u32(mode));

function seedSequences(): SftpInput[] {
  let id = 1;
  const P = (type: number) => new PacketWriter(type, id++);
  const seqs: Buffer[][] = [
    [payload(P(FXP.REALPATH).string('.')), payload(P(FXP.STAT).string('/')), payload(P(FXP.LSTAT).string('a.txt'))],
    [payload(attrs(P(FXP.OPEN).string('a.txt').u32(0x1a), 0o644)), payload(P(FXP.WRITE).string(h(1)).u64(0).string('hello world')), payload(P(FXP.FSTAT).string(h(1))), payload(P(FXP.CLOSE).string(h(1)))],
    [payload(attrs(P(FXP.OPEN).string('a.txt').u32(0x01))), payload(P(FXP.READ).string(h(1)).u64(0).u32(32768)), payload(P(FXP.READ).string(h(1)).u64(5).u32(3)), payload(P(FXP.CLOSE).string(h(1)))],
    [payload(P(FXP.OPENDIR).string('.')), payload(P(FXP.READDIR).string(h(1))), payload(P(FXP.READDIR).string(h(1))), payload(P(FXP.CLOSE).string(h(1)))],
    [payload(attrs(P(FXP.MKDIR).string('d'), 0o755)), payload(P(FXP.RENAME).string('d').string('e')), payload(P(FXP.RMDIR).string('e'))],
    [payload(P(FXP.SYMLINK).string('l').string('a.txt')), payload(P(FXP.READLINK).string('l')), payload(P(FXP.REMOVE).string('l'))],
    [payload(attrs(P(FXP.SETSTAT).string('a.txt'), 0o600)), payload(attrs(P(FXP.OPEN).string('b').u32(0x3a), 0o600)), payload(attrs(P(FXP.FSETSTAT).string(h(1)), 0o640)), payload(P(FXP.CLOSE).string(h(1)))],
    [payload(P(FXP.EXTENDED).string('posix-rename@openssh.com').string('a.txt').string('c.txt')), payload(P(FXP.EXTENDED).string('posix-rename@openssh.com').string('c.txt').string('a.txt'))],
    [payload(P(FXP.EXTENDED).string('statvfs@openssh.com').string('/')), payload(P(FXP.EXTENDED).string('limits@openssh.com')), payload(P(FXP.EXTENDED).string('hardlink@openssh.com').string('a.txt').string('hl'))],
    [payload(attrs(P(FXP.OPEN).string('../../etc/passwd').u32(0x01))), payload(P(FXP.REALPATH).string('../../..')), payload(P(FXP.STAT).string('/../..'))],
    [payload(attrs(P(FXP.OPEN).string('big').u32(0x1a))), payload(P(FXP.WRITE).string(h(1)).u64(1 << 20).string('x')), payload(P(FXP.EXTENDED).string('fsync@openssh.com').string(h(1))), payload(P(FXP.CLOSE).string(h(1)))],
  ];
  return seqs.map((packets) => ({ packets }));
}

export class SftpTarget implements Target<SftpInput> {
  readonly name = 'sftp';
  private readonly init = payload(new PacketWriter(FXP.INIT).u32(3));

  constructor(
    private readonly session: Session,
    private readonly onInternal: () => number,
  ) {}

  seeds(): SftpInput[] {
    return seedSequences();
  }

  mutate(input: SftpInput, rng: Rng, donor: SftpInput): SftpInput {
    const packets = [...input.packets];
    const changes = 1 + rng.int(4);
    let rawLength: SftpInput['rawLength'];
    for (let c = 0; c < changes; c++) {
      const i = rng.int(packets.length);
      switch (rng.int(10)) {
        case 0:
          packets.splice(i, 1);
          break;
        case 1:
          if (packets[i]) packets.splice(i, 0, Buffer.from(packets[i]));
          break;
        case 2:
          if (donor.packets.length) packets.splice(i, 0, rng.pick(donor.packets));
          break;
        case 3:
          // Another request type for the same body.
          if (packets[i]?.length) packets[i] = Buffer.concat([Buffer.from([rng.chance(0.8) ? rng.pick(Object.values(FXP)) : rng.int(256)]), packets[i].subarray(1)]);
          break;
        case 4:
          if (rng.chance(0.2)) rawLength = { index: i, value: rng.pick([0, 1, 4, 5, LIMITS.sftpMaxPacketBytes, LIMITS.sftpMaxPacketBytes + 1, 0xffffffff]) };
          break;
        default:
          if (packets[i]) packets[i] = mutateBytes(packets[i], rng, donor.packets.length ? rng.pick(donor.packets) : undefined);
      }
    }
    if (packets.length > 64) packets.length = 64;
    if (packets.length === 0) packets.push(...this.seeds()[0]!.packets);
    return rawLength ? { packets, rawLength } : { packets };
  }

  serialize(input: SftpInput): Buffer {
    return Buffer.from(JSON.stringify({ packets: input.packets.map((p) => p.toString('base64')), rawLength: input.rawLength }));
  }

  deserialize(text: Buffer): SftpInput {
    const o = JSON.parse(text.toString()) as { packets: string[]; rawLength?: SftpInput['rawLength'] };
    return { packets: o.packets.map((p) => Buffer.from(p, 'base64')), ...(o.rawLength && { rawLength: o.rawLength }) };
  }

  /**
   * Runs one input: INIT, the packets, then a REALPATH with id 0xfffffffe whose reply says every
   * packet before it was handled. A connection the server closes (a malformed packet) ends the
   * input too. Resolves with the number of reply bytes; rejects on a hang.
   */
  async run(input: SftpInput, timeoutMs: number): Promise<void> {
    const before = this.onInternal();
    let out: Buffer = Buffer.alloc(0);
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const SENTINEL = 0xfffffffe;
    const channel = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        out = out.length > 1 << 20 ? chunk : Buffer.concat([out, chunk]);
        // A STATUS/NAME reply to the sentinel: [len][type][id=sentinel]
        for (let i = 0; i + 9 <= out.length; ) {
          const len = out.readUInt32BE(i);
          if (i + 4 + len > out.length) break;
          if (len >= 5 && out.readUInt32BE(i + 5) === SENTINEL) finished();
          i += 4 + len;
        }
        cb();
      },
      final(cb) {
        finished();
        cb();
      },
    });
    channel.on('close', () => finished());
    const server = new SftpServer({
      session: this.session,
      channel,
      limits: { maxPacketBytes: LIMITS.sftpMaxPacketBytes, maxReadWriteBytes: LIMITS.sftpMaxReadWriteBytes, maxOpenHandles: LIMITS.sftpMaxOpenHandles },
      onMalformed: () => {
        channel.destroy();
        finished();
      },
    });
    void server;
    const frame = (p: Buffer, len = p.length) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(len >>> 0);
      return Buffer.concat([head, p]);
    };
    const parts = [frame(this.init)];
    input.packets.forEach((p, i) => parts.push(input.rawLength?.index === i ? frame(p, input.rawLength.value) : frame(p)));
    parts.push(frame(payload(new PacketWriter(FXP.REALPATH, SENTINEL).string('.'))));
    channel.push(Buffer.concat(parts));
    const within = async (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([done.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)))]);
      clearTimeout(timer);
      return !late;
    };
    let hung = !(await within(input.rawLength ? Math.min(50, timeoutMs) : timeoutMs));
    if (hung && input.rawLength) {
      // A length longer than what follows: the server rightly waits for the rest. The client
      // ending the channel must end it.
      channel.push(null);
      hung = !(await within(timeoutMs));
    }
    channel.push(null);
    channel.destroy();
    if (hung) throw new FuzzHang(`no reply to the final request within ${timeoutMs} ms`);
    if (this.onInternal() > before) throw new FuzzInternal('the server logged an internal error (a bug in a handler)');
  }
}

export class FuzzHang extends Error {}
export class FuzzInternal extends Error {}
