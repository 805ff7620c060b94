// Commands that the real clients in the other suites do not exercise, driven with a raw client.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { MiB, RawFtp, readAll, startFtps } from './helpers.ts';

void test('ABOR mid-download: 426 for the transfer, then 226; the session goes on', { timeout: 60_000 }, async (t) => {
  const f = await startFtps(t);
  await writeFile(path.join(f.home, 'big.bin'), Buffer.alloc(50 * MiB, 7));
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  const raw = await c.passive();
  c.send('RETR big.bin');
  assert.equal((await c.next())?.code, 150);
  const data = await c.dataTls(raw);
  data.pause(); // let the server block on back-pressure
  await new Promise((r) => setTimeout(r, 200));
  c.send(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('ABOR\r\n')]));
  const first = await c.next();
  assert.equal(first?.code, 426);
  assert.equal((await c.next())?.code, 226);
  data.destroy();
  assert.equal((await c.cmd('NOOP'))?.code, 200);
});

void test('HASH, MFMT, MDTM, STOU, MLST, STAT, HELP; unknown and SITE commands get 502', async (t) => {
  const f = await startFtps(t);
  const content = Buffer.from('hello portcullis\n');
  await writeFile(path.join(f.home, 'h.txt'), content);
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  const hash = await c.cmd('HASH h.txt');
  assert.equal(hash?.text.trim(), `213 SHA-256 0-${content.length} ${createHash('sha256').update(content).digest('hex')} /h.txt`);
  assert.equal((await c.cmd('OPTS HASH MD5'))?.code, 200);
  assert.match((await c.cmd('HASH h.txt'))!.text, new RegExp(createHash('md5').update(content).digest('hex')));
  assert.equal((await c.cmd('MFMT 20200102030405 h.txt'))?.code, 213);
  assert.equal((await stat(path.join(f.home, 'h.txt'))).mtime.toISOString(), '2020-01-02T03:04:05.000Z');
  assert.equal((await c.cmd('MDTM h.txt'))?.text.trim(), '213 20200102030405');
  const mlst = await c.cmd('MLST h.txt');
  assert.match(mlst!.text, /^250-.*\r\n type=file;size=17;modify=20200102030405;perm=[a-z]+;UNIX\.mode=0\d+; \/h\.txt\r\n250 End/);
  assert.equal((await c.cmd('STAT'))?.code, 211);
  assert.match((await c.cmd('STAT /'))!.text, /h\.txt/);
  assert.equal((await c.cmd('HELP'))?.code, 214);
  assert.equal((await c.cmd('SITE UTIME x'))?.code, 502);
  assert.equal((await c.cmd('XYZZ'))?.code, 502);
  assert.equal((await c.cmd('OPTS UTF8 ON'))?.code, 200);
  assert.equal((await c.cmd('TYPE I'))?.code, 200);
  assert.equal((await c.cmd('MODE B'))?.code, 504);
  assert.equal((await c.cmd('STRU R'))?.code, 504);
  assert.equal((await c.cmd('XPWD'))?.text.trim(), '257 "/" is the current directory');
  // STOU: a unique name, reported in the 150 reply
  const raw = await c.passive();
  c.send('STOU');
  const p = await c.next();
  assert.equal(p?.code, 150);
  const name = /FILE: (\S+)/.exec(p.text)![1]!;
  const data = await c.dataTls(raw);
  data.end('unique');
  await readAll(data).catch(() => undefined);
  assert.equal((await c.next())?.code, 226);
  assert.equal(await readFile(path.join(f.home, name), 'utf8'), 'unique');
  assert.ok((await readdir(f.home)).every((n) => !n.startsWith('.portcullis-upload-')));
});

void test('a read-only account: writes refused with 550, disk unchanged', async (t) => {
  const f = await startFtps(t);
  await f.srv.addUser('reader', { password: 'reader password 123', readOnly: true });
  const home = path.join(f.srv.dataDir, 'home', 'reader');
  const c = await RawFtp.connect(f.explicitPort);
  t.after(() => c.close());
  await c.next();
  await c.startTls();
  for (const [l, code] of [['PBSZ 0', 200], ['PROT P', 200], ['USER reader', 331], ['PASS reader password 123', 230]] as const) assert.equal((await c.cmd(l))?.code, code);
  for (const line of ['MKD x', 'DELE x', 'RMD x', 'RNFR x', 'STOR x', 'APPE x', 'MFMT 20200101000000 x']) assert.equal((await c.cmd(line))?.code, 550, line);
  assert.deepEqual(await readdir(home).catch(() => []), []);
});
