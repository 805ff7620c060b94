// The READ budget (LIMITS.sftpMaxReadBytesInFlight): a session holds at most that many bytes of
// READ replies, from the file read until the channel has sent them; the next READs start as the
// channel gives replies back. A fake channel that never finishes a write stands for a client
// that stops opening its window.
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { LIMITS } from '../../config/limits.ts';
import type { Session } from '../../session/session.ts';
import { FXP, OPEN_FLAGS, SFTP_VERSION } from './constants.ts';
import { PacketWriter } from './packet.ts';
import { SftpServer } from './sftp-server.ts';

const READ_LEN = LIMITS.sftpMaxReadWriteBytes; // what OpenSSH's sftp asks for

void test('READ replies held by the channel stop further READs at the budget; each one sent lets the next start', async () => {
  let reads = 0;
  const download = {
    path: '/big.bin',
    read: (buf: Buffer, at: number, len: number) => {
      reads += 1;
      buf.fill(7, at, at + len);
      return Promise.resolve(len);
    },
    finish: () => Promise.resolve(),
  };
  const session = { capabilities: new Set(), can: () => true, openRead: () => Promise.resolve(download), close: () => Promise.resolve(), ctx: { id: 'c1' }, id: 's1' } as unknown as Session;
  const held: (() => void)[] = [];
  const channel = new Duplex({
    read() {},
    // Never done on its own: the test sends each reply by calling its callback.
    write(_chunk: Buffer, _enc, cb: () => void) {
      held.push(cb);
    },
    writableHighWaterMark: 64 * 1024 * 1024, // no stream back-pressure: only the budget counts
  });
  const server = new SftpServer({ session, channel, limits: { maxPacketBytes: LIMITS.sftpMaxPacketBytes, maxReadWriteBytes: READ_LEN, maxOpenHandles: 8 }, onMalformed: (d) => assert.fail(d) });
  const handle = Buffer.from([0, 0, 0, 1]);
  const send = (w: PacketWriter) => channel.push(w.finish());
  send(new PacketWriter(FXP.INIT).u32(SFTP_VERSION));
  send(new PacketWriter(FXP.OPEN, 1).string('/big.bin').u32(OPEN_FLAGS.READ).u32(0));
  const total = 40;
  for (let i = 0; i < total; i++) send(new PacketWriter(FXP.READ, 100 + i).string(handle).u64(i * READ_LEN).u32(READ_LEN));
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 5; i++) await settle();
  const budget = Math.floor(LIMITS.sftpMaxReadBytesInFlight / READ_LEN);
  assert.equal(reads, budget, `${budget} READs of ${READ_LEN} bytes fit the budget`);
  // The channel sends replies one at a time (VERSION and HANDLE first): one more READ starts per READ reply sent.
  for (let sent = 1; reads < total; sent++) {
    held.shift()!();
    for (let i = 0; i < 3; i++) await settle();
    assert.ok(reads <= budget + Math.max(0, sent - 2), `after ${sent} replies sent, ${reads} READs started`);
  }
  assert.equal(reads, total);
  await server.close();
  channel.destroy();
});
