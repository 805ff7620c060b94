import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { LIMITS } from '../../config/limits.ts';
import { ChannelReader } from './channel-reader.ts';
import { parseExecCommand, splitShellWords } from './scp-command.ts';
import { parseScpHeader, parseScpName, parseScpTimes } from './scp-server.ts';

void test('exec commands: what OpenSSH scp sends is parsed; shell syntax is refused, never run', () => {
  const table: [string, unknown][] = [
    ['scp -t .', { direction: 'sink', recursive: false, preserve: false, targetMustBeDirectory: false, paths: ['.'], globs: [null] }],
    ['scp -v -r -p -d -t -- -dir', { direction: 'sink', recursive: true, preserve: true, targetMustBeDirectory: true, paths: ['-dir'], globs: [null] }],
    ['scp -rpf a b', { direction: 'source', recursive: true, preserve: true, targetMustBeDirectory: false, paths: ['a', 'b'], globs: [null, null] }],
    ["scp -t 'in box'", { direction: 'sink', recursive: false, preserve: false, targetMustBeDirectory: false, paths: ['in box'], globs: [null] }],
    ['scp -f in\\ box "x y"', { direction: 'source', recursive: false, preserve: false, targetMustBeDirectory: false, paths: ['in box', 'x y'], globs: [null, null] }],
    ['scp -t ~/up', { direction: 'sink', recursive: false, preserve: false, targetMustBeDirectory: false, paths: ['/up'], globs: [null] }],
    ['scp -t ~', { direction: 'sink', recursive: false, preserve: false, targetMustBeDirectory: false, paths: ['/'], globs: [null] }],
    ["scp -f 'a*'", { direction: 'source', recursive: false, preserve: false, targetMustBeDirectory: false, paths: ['a*'], globs: [null] }],
    ["scp -f logs/*.gz 'q?'[0-9]\\*", { direction: 'source', recursive: false, preserve: false, targetMustBeDirectory: false, paths: ['logs/*.gz', 'q?[0-9]*'], globs: ['*.gz', 'q\\?[0-9]\\*'] }],
  ];
  for (const [line, want] of table) {
    const got = parseExecCommand(line);
    assert.equal(got.kind, 'scp', line);
    assert.deepEqual(got.kind === 'scp' && got.command, want, line);
  }
  for (const line of ['echo hi', 'md5sum x', 'scpx -t .', 'sh -c scp', 'rsync --server']) assert.equal(parseExecCommand(line).kind, 'other', line);
  for (const line of ['scp -t . ; rm -rf /', 'scp -t *', 'scp -f */x', 'scp -f {a,b}', 'scp -f $HOME', 'scp -f `id`', 'scp -t "a', 'scp -t a > b', 'scp -t ~bob/x', 'scp -x -t .', 'scp -r .', 'scp -t a b', 'scp -t', 'scp -f "$(id)"']) {
    assert.equal(parseExecCommand(line).kind, 'invalid', line);
  }
  assert.deepEqual(splitShellWords(`a 'b c'd "e\\"f" g\\ h`)?.map((w) => w.value), ['a', 'b cd', 'e"f', 'g h']);
});

void test('SCP records: names are one safe component; modes, sizes and times are strict', () => {
  assert.deepEqual(parseScpHeader(Buffer.from('0644 12 report.pdf')), { mode: 0o644, size: 12, name: 'report.pdf' });
  assert.deepEqual(parseScpHeader(Buffer.from('4755 0 a b  c')), { mode: 0o755, size: 0, name: 'a b  c' });
  for (const bad of ['644 1 x', '0644 1', '0648 1 x', '0644 -1 x', '0644 1e3 x', '0644  1 x', '0644 99999999999999999 x', '0644 1 ']) {
    assert.throws(() => parseScpHeader(Buffer.from(bad)), bad);
  }
  for (const bad of ['', '.', '..', 'a/b', '/', '..\\x', 'a\u0000b', 'a\tb', 'a\u007fb', 'a\u0085b', 'x'.repeat(LIMITS.maxNameBytes + 1)]) {
    assert.throws(() => parseScpName(Buffer.from(bad)), JSON.stringify(bad));
  }
  assert.throws(() => parseScpName(Buffer.from([0x61, 0xff])), /UTF-8/);
  assert.equal(parseScpName(Buffer.from('..hidden')), '..hidden');
  assert.equal(parseScpName(Buffer.from('été')), 'été');
  assert.deepEqual(parseScpTimes(Buffer.from('981173106 0 981173107 0')), { mtime: new Date(981173106_000), atime: new Date(981173107_000) });
  for (const bad of ['1 0 2', '1 1000000 2 0', 'a 0 1 0', '1 0 2 0 ', '-1 0 2 0']) assert.throws(() => parseScpTimes(Buffer.from(bad)), bad);
});

void test('channel reader: lines are bounded, data is split exactly, the stream pauses when full', async () => {
  const stream = new PassThrough();
  const reader = new ChannelReader(stream, 16);
  stream.write('C0644 5 x\nhel');
  stream.write('lo\0');
  const line = await reader.line(100);
  assert.equal(line.ok && line.bytes.toString(), 'C0644 5 x');
  assert.equal((await reader.take(5))?.toString(), 'hel');
  assert.equal((await reader.take(2))?.toString(), 'lo');
  assert.equal(await reader.byte(), 0);
  stream.write(Buffer.alloc(40, 0x61)); // more than the 16-byte cap: the stream is paused
  await new Promise((r) => setImmediate(r));
  assert.equal(stream.isPaused(), true);
  assert.deepEqual(await reader.line(10), { ok: false, reason: 'too-long' });
  stream.end();
});
