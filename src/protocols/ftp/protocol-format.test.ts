import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CATALOGUE, type ErrorCode } from '../../errors/index.ts';
import { checkActiveTarget, formatEpsvReply, formatPasvReply, parseEprtArgument, parsePortArgument } from './data-channel.ts';
import { replyForErrorCode } from './error-replies.ts';
import { formatFtpTime, formatListLine, formatMlsxLine, parseFtpTime } from './listing.ts';
import { formatReply, quotePath } from './replies.ts';
import { COMMANDS, stripListOptions } from './commands.ts';

const stat = { type: 'file' as const, size: 42, mode: 0o644, mtime: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), atime: new Date(0), uid: 0, gid: 0, nlink: 1 };

void test('replies: single, multi-line, and no line injection', () => {
  assert.equal(formatReply(200, 'ok'), '200 ok\r\n');
  assert.equal(formatReply(211, ['Features:', 'UTF8', 'End']), '211-Features:\r\n UTF8\r\n211 End\r\n');
  assert.equal(formatReply(550, 'a\r\n230 fake'), '550 a\\x0d\\x0a230 fake\r\n');
  // terminal injection: ESC, BEL and C1 controls in an echoed name are escaped too
  assert.equal(formatReply(257, '"/\x1b]0;pwned\x07\u009b" is the current directory'), '257 "/\\x1b]0;pwned\\x07\\x9b" is the current directory\r\n');
  assert.equal(quotePath('/a"b'), '"/a""b"');
});

void test('PORT and EPRT parsing, and the bounce check', () => {
  assert.deepEqual(parsePortArgument('127,0,0,1,200,10'), { address: '127.0.0.1', port: 200 * 256 + 10 });
  assert.equal(parsePortArgument('127,0,0,1,300,10'), null);
  assert.equal(parsePortArgument('1,2,3'), null);
  assert.deepEqual(parseEprtArgument('|1|127.0.0.1|5000|'), { address: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseEprtArgument('!2!::1!5000!'), { address: '::1', port: 5000 });
  assert.equal(parseEprtArgument('|1|::1|5000|'), null);
  assert.equal(parseEprtArgument('|1|127.0.0.1|99999|'), null);
  assert.equal(checkActiveTarget({ address: '10.0.0.1', port: 5000 }, '127.0.0.1'), 'third-party');
  assert.equal(checkActiveTarget({ address: '127.0.0.1', port: 21 }, '127.0.0.1'), 'privileged-port');
  assert.equal(checkActiveTarget({ address: '::ffff:127.0.0.1', port: 5000 }, '127.0.0.1'), 'ok');
  assert.equal(formatPasvReply('127.0.0.1', 50001), 'Entering Passive Mode (127,0,0,1,195,81)');
  assert.equal(formatEpsvReply(50001), 'Entering Extended Passive Mode (|||50001|)');
});

void test('times and listings', () => {
  assert.equal(formatFtpTime(stat.mtime), '20240102030405');
  assert.equal(parseFtpTime('20240102030405')?.getTime(), stat.mtime.getTime());
  assert.equal(parseFtpTime('20241302030405'), null);
  assert.match(formatListLine('f.txt', stat, 'alice', stat.mtime.getTime()), /^-rw-r--r-- +1 alice alice +42 Jan {2}2 03:04 f\.txt$/);
  assert.match(formatListLine('f.txt', stat, 'alice', Date.UTC(2026, 0, 1)), / Jan {2}2 {2}2024 f\.txt$/);
  assert.equal(formatMlsxLine('f.txt', stat, () => true), 'type=file;size=42;modify=20240102030405;perm=adfrw;UNIX.mode=0644; f.txt');
  assert.equal(formatMlsxLine('f.txt', stat, (p) => p === 'download'), 'type=file;size=42;modify=20240102030405;perm=r;UNIX.mode=0644; f.txt');
});

void test('LIST option words are not paths', () => {
  assert.equal(stripListOptions('-a'), '');
  assert.equal(stripListOptions('-la dir'), 'dir');
  assert.equal(stripListOptions('-l -a my dir'), 'my dir');
  assert.equal(stripListOptions('dir'), 'dir');
});

void test('every catalogue code maps to an FTP reply code (4xx/5xx)', () => {
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    const r = replyForErrorCode(code);
    assert.ok(r.code >= 400 && r.code < 600, code);
  }
  assert.equal(replyForErrorCode('ERR_VFS_NOT_FOUND').code, 550);
  assert.equal(replyForErrorCode('ERR_AUTH_FAILED').code, 530);
});

void test('MLST keeps the session it started with when the connection closes during its stat (found by the fuzzer)', async () => {
  const replies: unknown[] = [];
  const stat = { type: 'file', size: 3, mode: 0o644, mtime: new Date(0), atime: new Date(0), uid: 0, gid: 0, nlink: 1 };
  const c: { session: unknown; cwd: string; reply: (code: number, text: unknown) => void } = {
    cwd: '/',
    reply: (code, text) => replies.push([code, text]),
    session: {
      resolvePath: (arg: string) => (arg.startsWith('/') ? arg : `/${arg}`),
      can: () => true,
      // The control connection closes while stat runs: cleanup drops the session.
      stat: async () => {
        c.session = undefined;
        return stat;
      },
    },
  };
  await COMMANDS.get('MLST')!.handler(c as never, 'a.txt');
  assert.equal((replies[0] as [number])[0], 250);
  assert.match(String((replies[0] as [number, string[]])[1][1]), /type=file;size=3;/);
});
