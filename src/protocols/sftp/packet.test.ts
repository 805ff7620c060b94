import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isPortcullisError } from '../../errors/index.ts';
import { pooledBuffersFree, pooledMemory, releaseBuffer } from './buffer-pool.ts';
import { MalformedPacketError, PacketFramer, PacketWriter, SftpReader } from './packet.ts';

function packet(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}

void test('PacketFramer reassembles packets split at every possible byte boundary', () => {
  const packets = [packet(3, randomBytes(40)), packet(6, randomBytes(70_000)), packet(17, Buffer.from('xxxx')), packet(5, randomBytes(8))];
  const stream = Buffer.concat(packets);
  for (const step of [1, 2, 3, 5, 7, 4096, 32_768, stream.length]) {
    const framer = new PacketFramer(256 * 1024);
    const out: Buffer[] = [];
    for (let off = 0; off < stream.length; off += step) {
      framer.push(stream.subarray(off, off + step));
      for (let p = framer.next(); p !== null; p = framer.next()) out.push(Buffer.from(p));
    }
    assert.equal(out.length, packets.length, `step ${step}`);
    out.forEach((p, i) => assert.ok(p.equals(packets[i]!.subarray(4)), `step ${step} packet ${i}`));
    assert.equal(framer.bufferedBytes, 0);
  }
});

void test('PacketFramer: a maximal packet in 1-byte chunks is reassembled in linear time', () => {
  const body = randomBytes(256 * 1024);
  const stream = packet(6, body);
  const framer = new PacketFramer(257 * 1024);
  const started = process.hrtime.bigint();
  let got: Buffer | null = null;
  for (let off = 0; off < stream.length; off++) {
    framer.push(stream.subarray(off, off + 1));
    got = framer.next() ?? got;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(got?.equals(stream.subarray(4)));
  assert.ok(ms < 2000, `took ${ms} ms`);
});

void test('PacketFramer refuses lengths below 5 and above the limit before buffering the body', () => {
  const small = new PacketFramer(1024);
  small.push(Buffer.from([0, 0, 0, 4]));
  assert.throws(() => small.next(), MalformedPacketError);
  const big = new PacketFramer(1024);
  big.push(Buffer.from([0, 0, 4, 1])); // 1025
  assert.throws(() => big.next(), /over the 1024-byte limit/);
  const ok = new PacketFramer(1024);
  ok.push(Buffer.from([0, 0, 4, 0])); // 1024: allowed, waits for the body
  assert.equal(ok.next(), null);
});

void test('SftpReader checks every length against what is left', () => {
  const r = new SftpReader(Buffer.from([0, 0, 0, 9, 0x41]));
  assert.throws(() => r.bytes(), MalformedPacketError);
  assert.throws(() => new SftpReader(Buffer.from([1, 2, 3])).u32(), MalformedPacketError);
  assert.throws(() => new SftpReader(Buffer.alloc(7)).u64(), MalformedPacketError);
  assert.throws(() => new SftpReader(Buffer.alloc(8, 0xff)).u64(), /out of range/);
  assert.equal(new SftpReader(Buffer.from([0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).u64(), Number.MAX_SAFE_INTEGER);
  const s = new SftpReader(Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63, 0xff]));
  assert.equal(s.text(), 'abc');
  assert.equal(s.remaining, 1);
});

void test('SftpReader.text: invalid UTF-8 fails the request, not the connection', () => {
  const r = new SftpReader(Buffer.from([0, 0, 0, 2, 0xc3, 0x28]));
  assert.throws(() => r.text('path'), (err) => isPortcullisError(err, 'ERR_VFS_INVALID_PATH'));
});

void test('PacketWriter frames a reply with its length', () => {
  const out = new PacketWriter(101, 7).u32(0).string('Success').string('en').finish();
  assert.equal(out.readUInt32BE(0), out.length - 4);
  assert.equal(out[4], 101);
  assert.equal(out.readUInt32BE(5), 7);
  const r = new SftpReader(out.subarray(9));
  assert.equal(r.u32(), 0);
  assert.equal(r.text(), 'Success');
  assert.equal(r.text(), 'en');
});

void test('PacketWriter: uint64 above 32 bits, long strings and raw bytes grow the buffer', () => {
  const big = 2 ** 40 + 12345;
  const text = 'é'.repeat(300); // 600 bytes: past the first 256-byte buffer
  const out = new PacketWriter(105, 1).u64(big).string(text).raw(Buffer.from([1, 2, 3])).u64(0).finish();
  assert.equal(out.readUInt32BE(0), out.length - 4);
  assert.equal(out.readBigUInt64BE(9), BigInt(big));
  assert.equal(out.readUInt32BE(17), Buffer.byteLength(text));
  assert.equal(out.subarray(21, 21 + 600).toString('utf8'), text);
  assert.deepEqual([...out.subarray(621, 624)], [1, 2, 3]);
  assert.equal(out.readBigUInt64BE(624), 0n);
  assert.equal(out.length, 632);
});

void test('PacketFramer: a large packet spread over chunks is filled into a pooled buffer, exact in length, reused after release', () => {
  const first = packet(6, randomBytes(200_000));
  const second = packet(6, randomBytes(50_000));
  const framer = new PacketFramer(256 * 1024);
  const got: Buffer[] = [];
  for (const p of [first, second]) {
    for (let off = 0; off < p.length; off += 32_768) {
      framer.push(p.subarray(off, off + 32_768));
      for (let q = framer.next(); q !== null; q = framer.next()) got.push(q);
    }
  }
  assert.equal(got.length, 2);
  assert.ok(got[0]!.equals(first.subarray(4)));
  assert.ok(got[1]!.equals(second.subarray(4)));
  const memory = pooledMemory(got[0]!);
  assert.ok(memory, 'the large payload is pooled memory');
  assert.notEqual(memory, pooledMemory(got[1]!), 'two live packets never share a buffer');
  releaseBuffer(got[0]);
  releaseBuffer(got[0]); // SECURITY: a second release must not list it twice
  const free = pooledBuffersFree();
  const third = packet(6, randomBytes(40_000));
  for (let off = 0; off < third.length; off += 32_768) framer.push(third.subarray(off, off + 32_768));
  const reused = framer.next()!;
  assert.equal(pooledMemory(reused), memory, 'the released buffer is taken again');
  assert.equal(pooledBuffersFree(), free - 1);
  assert.equal(reused.length, third.length - 4, 'only this packet\'s bytes, not the earlier, longer one\'s');
  assert.ok(reused.equals(third.subarray(4)));
  assert.equal(framer.bufferedBytes, 0);
});
