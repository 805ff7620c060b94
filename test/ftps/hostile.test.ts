// Hostile input against the FTPS server: clear-text logins, unprotected data, stolen and bounced
// data connections, traversal, overlong and garbage lines, floods, killed clients. Each test
// checks the reply and, where it matters, the disk.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import type { AuditRecord } from '../../src/audit/events.ts';
import { MiB, PASSWORD, RawFtp, USER, randomFile, readAll, requireBinary, startFtps } from './helpers.ts';

void test('plaintext USER and PASS before AUTH TLS get 530 naming AUTH TLS; FEAT is answered in clear', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.connect(f.explicitPort);
  t.after(() => c.close());
  assert.equal((await c.next())?.code, 220);
  const feat = await c.cmd('FEAT');
  assert.equal(feat?.code, 211);
  assert.match(feat.text, /AUTH TLS/);
  for (const line of [`USER ${USER}`, `PASS ${PASSWORD}`, 'PBSZ 0', 'LIST', 'RETR x', 'PASV']) {
    const r = await c.cmd(line);
    assert.equal(r?.code, 530, `${line}: ${r?.text}`);
    assert.match(r.text, /AUTH TLS/);
  }
});

void test('banner and SYST disclose no version', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.connect(f.explicitPort);
  t.after(() => c.close());
  const banner = await c.next();
  const syst = await c.cmd('SYST');
  for (const r of [banner, syst]) assert.doesNotMatch(r!.text, /\d+\.\d+/);
});

void test('PROT C, S and E are refused; CCC is refused; a transfer before PROT P gets 521', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.connect(f.explicitPort);
  t.after(() => c.close());
  await c.next();
  await c.startTls();
  assert.equal((await c.cmd('PBSZ 0'))?.code, 200);
  for (const level of ['C', 'S', 'E']) assert.equal((await c.cmd(`PROT ${level}`))?.code, 534);
  assert.equal((await c.cmd(`USER ${USER}`))?.code, 331);
  assert.equal((await c.cmd(`PASS ${PASSWORD}`))?.code, 230);
  assert.equal((await c.cmd('CCC'))?.code, 534);
  assert.equal((await c.cmd('EPSV'))?.code, 229);
  assert.equal((await c.cmd('LIST'))?.code, 521);
});

void test('commands pipelined after AUTH TLS in clear are dropped, never run under TLS', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.connect(f.explicitPort);
  t.after(() => c.close());
  await c.next();
  c.send('AUTH TLS\r\nUSER injected\r\n');
  assert.equal((await c.next())?.code, 234);
  c.socket.removeAllListeners('data');
  // the handshake fails or succeeds; either way USER must not have been answered in clear
  const tlsSock = await new Promise<tls.TLSSocket | null>((resolve) => {
    const s = tls.connect({ socket: c.socket, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', () => resolve(null));
  });
  if (tlsSock) {
    tlsSock.write('NOOP\r\n');
    const first = await new Promise<string>((resolve) => tlsSock.once('data', (d: Buffer) => resolve(d.toString())));
    assert.match(first, /^200 /, 'the first reply under TLS is for NOOP, not for the injected USER');
    tlsSock.destroy();
  }
});

void test('a data connection from another source address (127.0.0.2) is refused; the real client still connects', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  const r = await c.cmd('EPSV');
  const port = Number(/\|\|\|(\d+)\|/.exec(r!.text)![1]);
  const thief = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, () => resolve(s));
    s.once('error', reject);
  });
  const stolen = await readAll(thief).catch(() => Buffer.alloc(0));
  assert.equal(stolen.length, 0, 'the thief got nothing');
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  c.send('NLST');
  assert.equal((await c.next())?.code, 150);
  const data = await c.dataTls(raw);
  await readAll(data);
  assert.equal((await c.next())?.code, 226);
});

void test('a data connection that does not resume the control TLS session is refused with 522', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  const raw = await c.passive();
  c.send('NLST');
  assert.equal((await c.next())?.code, 150);
  const data = await c.dataTls(raw, false).catch(() => null);
  if (data) await readAll(data).catch(() => undefined);
  const r = await c.next();
  assert.equal(r?.code, 522);
  assert.match(r.text, /TLS session/);
});

void test('PORT and EPRT to a third party or a privileged port are refused (FTP bounce); own address works', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  for (const line of ['PORT 10,0,0,1,200,10', 'PORT 127,0,0,2,200,10', 'PORT 127,0,0,1,0,21', 'EPRT |1|192.168.1.1|5000|', 'EPRT |1|127.0.0.2|5000|', 'EPRT |1|127.0.0.1|25|', 'EPRT |2|::1|5000|', 'PORT garbage']) {
    const r = await c.cmd(line);
    assert.equal(r?.code, 501, `${line}: ${r?.text}`);
  }
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  t.after(() => listener.close());
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  assert.equal((await c.cmd(`EPRT |1|127.0.0.1|${port}|`))?.code, 200);
  c.send('NLST');
  assert.equal((await c.next())?.code, 150);
  const data = await c.dataTls(await accepted);
  await readAll(data);
  assert.equal((await c.next())?.code, 226);
});

void test('traversal through every path-taking command stays inside the home (checked on disk)', async (t) => {
  const f = await startFtps(t);
  const homes = path.dirname(f.home);
  await writeFile(path.join(homes, 'secret.txt'), 'outside');
  await writeFile(path.join(f.work, 'x'), 'x');
  await symlink('/etc', path.join(f.home, 'etc-link'));
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  const evil = ['../secret.txt', '../../secret.txt', '/../secret.txt', '..\\secret.txt', '....//secret.txt', '%2e%2e/secret.txt', 'etc-link/passwd', '../alice/../secret.txt'];
  const replies: string[] = [];
  for (const p of evil) {
    for (const cmd of ['RETR', 'SIZE', 'MDTM', 'MLST', 'DELE', 'RNFR', 'HASH', 'CWD', 'RMD', 'STAT']) {
      const r = await c.cmd(`${cmd} ${p}`);
      replies.push(`${cmd} ${p} → ${r?.text.trim()}`);
      assert.ok(r && r.code >= 400, `${cmd} ${p} must fail: ${r?.text}`);
    }
    for (const cmd of ['LIST', 'NLST', 'MLSD']) {
      assert.equal((await c.cmd('EPSV'))?.code, 229);
      const r = await c.cmd(`${cmd} ${p}`);
      assert.ok(r && r.code >= 400, `${cmd} ${p} must fail: ${r?.text}`);
    }
    const m = await c.cmd(`MFMT 20000101000000 ${p}`);
    assert.ok(m && m.code >= 400, `MFMT ${p}: ${m?.text}`);
  }
  // Writes through ".." land inside the home (chroot semantics), never beside it.
  for (const [cmd, p] of [
    ['MKD', '../escaped-dir'],
    ['MKD', '/../../escaped-dir2'],
  ] as const) {
    const r = await c.cmd(`${cmd} ${p}`);
    assert.ok(r && (r.code === 257 || r.code >= 500), `${cmd} ${p}: ${r?.text}`);
  }
  const raw = await c.passive();
  c.send('STOR ../../secret.txt');
  assert.equal((await c.next())?.code, 150);
  const data = await c.dataTls(raw);
  data.end('overwritten?');
  assert.equal((await c.next())?.code, 226);
  c.send('RNFR /escaped-dir');
  await c.next();
  await c.cmd('RNTO ../../renamed-outside');
  // The disk: outside the home, nothing changed.
  assert.equal(await readFile(path.join(homes, 'secret.txt'), 'utf8'), 'outside');
  assert.deepEqual((await readdir(homes)).sort(), ['alice', 'secret.txt']);
  assert.deepEqual((await readdir(path.dirname(homes))).filter((n) => /escaped|renamed|secret/.test(n)), []);
  assert.equal(await readFile(path.join(f.home, 'secret.txt'), 'utf8'), 'overwritten?');
  await assert.rejects(stat('/etc/passwd.portcullis'), { code: 'ENOENT' });
});

void test('overlong lines get 500 and, repeated, close the connection; garbage lines get 5xx and the connection lives', async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  for (const line of [Buffer.from([0x80, 0xfe, 0x00, 0x41, 0x0d, 0x0a]), Buffer.from('\x01\x02\x03\x04\r\n'), Buffer.from('NOOPNOOP\r\n'), Buffer.from('\r\n'), Buffer.concat([randomBytes(200).map((b) => (b === 10 ? 11 : b)), Buffer.from('\r\n')])]) {
    c.send(line);
    const r = await c.next();
    assert.ok(r && r.code >= 500 && r.code < 600, `garbage got ${r?.text}`);
  }
  assert.equal((await c.cmd('NOOP'))?.code, 200);
  c.send(`NOOP ${'A'.repeat(5000)}`);
  assert.equal((await c.next())?.code, 500);
  assert.equal((await c.cmd('NOOP'))?.code, 200, 'one overlong line does not kill the session');
  c.send(`USER ${'B'.repeat(100_000)}`);
  assert.equal((await c.next())?.code, 500);
  c.send(`USER ${'C'.repeat(5000)}`);
  const last = await c.next();
  assert.equal(last?.code, 421);
  assert.equal(await c.next(), null, 'the connection is closed');
});

void test('200 connections in a burst all get a banner; the server still serves afterwards', { timeout: 60_000 }, async (t) => {
  // The caps are raised so that the whole burst is admitted: this test is about serving it.
  const f = await startFtps(t, { limits: { maxConnectionsPerAddress: 256, maxConnections: 512, maxUnauthenticated: 256, maxUnauthenticatedPerAddress: 256, unauthenticatedDropFrom: 256 } });
  const conns = await Promise.all(Array.from({ length: 200 }, () => RawFtp.connect(f.explicitPort)));
  const banners = await Promise.all(conns.map((c) => c.next()));
  assert.equal(banners.filter((b) => b?.code === 220).length, 200);
  for (const c of conns) c.close();
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  assert.equal((await c.cmd('PWD'))?.code, 257);
});

void test('a client killed mid-upload leaves no file under the final name and no temporary file', { timeout: 60_000 }, async (t) => {
  await requireBinary(t, 'curl', 'apt-get install -y curl');
  const f = await startFtps(t);
  const big = await randomFile(f.work, 'big.bin', 50 * MiB);
  await mkdir(f.home, { recursive: true });
  const child = spawn('curl', ['-sS', '--ssl-reqd', '--cacert', f.caFile, '--limit-rate', '4M', '-u', `${USER}:${PASSWORD}`, '-T', big.file, `ftp://127.0.0.1:${f.explicitPort}/killed.bin`], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // wait until bytes arrive on disk, then kill the client without warning
  for (let i = 0; i < 100; i++) {
    const names = await readdir(f.home);
    const temp = names.find((n) => n.startsWith('.portcullis-upload-'));
    if (temp && (await stat(path.join(f.home, temp))).size > MiB) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  await exited;
  await sleep(1000);
  const left = await Promise.all((await readdir(f.home)).map(async (n) => `${n} (${(await stat(path.join(f.home, n))).size} bytes)`));
  assert.deepEqual(left, [], 'nothing left: no final file, no temporary file');
});

void test('ALPACA (CVE-2021-3618): a TLS client naming another protocol (http/1.1) is refused; no ALPN or "ftp" is served', async (t) => {
  const f = await startFtps(t);
  const handshake = (alpn: string[] | undefined) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: f.implicitPort, rejectUnauthorized: false, ...(alpn && { ALPNProtocols: alpn }) }, () => {
        s.once('data', (d: Buffer) => {
          resolve(`ok ${String(s.alpnProtocol)} ${d.toString().slice(0, 3)}`);
          s.destroy();
        });
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(`refused ${err.code ?? err.message}`));
    });
  assert.match(await handshake(['http/1.1']), /^refused ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL/);
  assert.match(await handshake(['h2', 'http/1.1']), /^refused/);
  assert.equal(await handshake(undefined), 'ok false 220');
  assert.equal(await handshake(['ftp']), 'ok ftp 220');
  // Explicit FTPS: the same after AUTH TLS.
  const c = await RawFtp.connect(f.explicitPort);
  t.after(() => c.close());
  await c.next();
  assert.equal((await c.cmd('AUTH TLS'))?.code, 234);
  c.socket.removeAllListeners('data');
  const outcome = await new Promise<string>((resolve) => {
    const s = tls.connect({ socket: c.socket, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => resolve('accepted'));
    s.once('error', (err: NodeJS.ErrnoException) => resolve(`refused ${err.code ?? err.message}`));
  });
  assert.match(outcome, /^refused ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL/);
});

for (const cut of ['FIN after the last byte (half-close)', 'socket destroyed mid-upload'] as const) {
  void test(`an upload whose TLS data connection ends with a bare TCP ${cut}, no close_notify, is not committed: 426 and an audited failure`, { timeout: 30_000 }, async (t) => {
    const f = await startFtps(t);
    const events: AuditRecord[] = [];
    t.after(f.srv.server.core.audit.subscribe((e) => events.push(e)));
    await writeFile(path.join(f.home, 'cut.bin'), 'the old content');
    const c = await RawFtp.login(f.explicitPort);
    t.after(() => c.close());
    assert.equal((await c.cmd('TYPE I'))?.code, 200);
    const raw = await c.passive();
    assert.equal((await c.cmd('STOR cut.bin'))?.code, 150);
    const data = await c.dataTls(raw);
    data.resume(); // read what the server sends (session tickets) so the close is a FIN, not a RST
    const chunk = randomBytes(256 * 1024);
    for (let i = 0; i < 4; i++) await new Promise<void>((resolve, reject) => data.write(chunk, (err) => (err ? reject(err) : resolve())));
    await sleep(100); // let the bytes reach the server's file
    // An attacker (or a killed client) ends the TCP stream under TLS: no close_notify is sent.
    if (cut.startsWith('FIN')) raw.end();
    else raw.destroy();
    const r = await c.next();
    assert.equal(r?.code, 426, r?.text);
    assert.match(r.text, /close_notify/);
    assert.equal(await readFile(path.join(f.home, 'cut.bin'), 'utf8'), 'the old content', 'the final name keeps its old content');
    assert.deepEqual((await readdir(f.home)).filter((n) => n !== 'cut.bin'), [], 'no temporary file is left');
    assert.equal((await c.cmd('NOOP'))?.code, 200, 'the control connection stays usable');
    await sleep(200); // audit events are published synchronously, but let the failure settle
    const uploads = events.filter((e): e is Extract<AuditRecord, { type: 'file.operation' }> => e.type === 'file.operation' && e.op === 'upload');
    assert.equal(uploads.length, 1, 'the upload is audited exactly once');
    assert.equal(uploads[0]!.outcome, 'failed');
    assert.equal(uploads[0]!.code, 'ERR_PROTOCOL_TLS_TRUNCATED');
  });
}

void test('an upload that ends with close_notify is committed at once, even when the client quits right after', { timeout: 30_000 }, async (t) => {
  const f = await startFtps(t);
  const c = await RawFtp.login(f.explicitPort);
  t.after(() => c.close());
  const raw = await c.passive();
  assert.equal((await c.cmd('STOR whole.bin'))?.code, 150);
  const data = await c.dataTls(raw);
  data.resume();
  const body = randomBytes(300 * 1024);
  data.end(body); // close_notify, then FIN
  const r = await c.next();
  assert.equal(r?.code, 226, r?.text);
  assert.deepEqual(await readFile(path.join(f.home, 'whole.bin')), body);
});
