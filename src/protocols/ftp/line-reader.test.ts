import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineReader } from './line-reader.ts';

const lines = (evs: ReturnType<LineReader['push']>): (string | null)[] => evs.map((e) => (e.kind === 'line' ? e.bytes.toString('latin1') : null));

void test('splits CRLF and LF lines, across chunks', () => {
  const r = new LineReader(100);
  assert.deepEqual(lines(r.push(Buffer.from('USER a\r\nPA'))), ['USER a']);
  assert.deepEqual(lines(r.push(Buffer.from('SS b\nNOOP\r\n'))), ['PASS b', 'NOOP']);
});

void test('an overlong line is reported once and never truncated into a command', () => {
  const r = new LineReader(10);
  assert.deepEqual(lines(r.push(Buffer.from('DELE abcdefgh'))), []);
  assert.deepEqual(lines(r.push(Buffer.from('ijk\r\nNOOP\r\n'))), [null, 'NOOP']);
  // exactly at the limit (CRLF included) is accepted
  assert.deepEqual(lines(r.push(Buffer.from('12345678\r\n'))), ['12345678']);
  assert.deepEqual(lines(r.push(Buffer.from('123456789\r\n'))), [null]);
});

void test('Telnet IAC sequences are removed; IAC IAC is a literal 0xFF', () => {
  const r = new LineReader(100);
  const abor = Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('ABOR\r\n')]);
  assert.deepEqual(lines(r.push(abor)), ['ABOR']);
  assert.deepEqual(lines(r.push(Buffer.from([0xff, 0xfb, 0x01, 0x41, 0xff, 0xff, 0x0a]))), ['A\xff']);
  // split in the middle of a sequence
  assert.deepEqual(lines(r.push(Buffer.from([0x42, 0xff]))), []);
  assert.deepEqual(lines(r.push(Buffer.from([0xfd, 0x03, 0x43, 0x0a]))), ['BC']);
});

void test('discard() forgets a partial line: it never prefixes the next one (STARTTLS injection)', () => {
  const r = new LineReader(100);
  assert.deepEqual(lines(r.push(Buffer.from('AUTH TLS\r\nDELE x'))), ['AUTH TLS']);
  assert.equal(r.discard(), 6);
  assert.deepEqual(lines(r.push(Buffer.from('NOOP\r\n'))), ['NOOP']);
  // also in the middle of a Telnet sequence or of an overlong line
  r.push(Buffer.from([0x41, 0xff]));
  r.discard();
  assert.deepEqual(lines(r.push(Buffer.from('\xf4B\n', 'latin1'))), ['\xf4B']);
});
