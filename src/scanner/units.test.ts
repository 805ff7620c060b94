import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadAdvisories, matchAdvisories } from './advisories.ts';
import { identifyFtp, identifySsh, parseSshIdent } from './banner.ts';
import { ConnectionBudget } from './context.ts';
import { parseEpsv, parsePasv, parseReply } from './ftp-client.ts';
import { bounceAddress, candidateUploadDirs } from './ftp-probes.ts';
import { LineReader } from './line-reader.ts';
import { terrapin, weakCiphers, weakHostKeyAlgorithms, weakKex, weakMacs } from './ssh-probes.ts';
import { parseTarget } from './target.ts';

void test('parseTarget: schemes, default ports, IPv6, refusals', () => {
  assert.deepEqual(parseTarget('ftp://127.0.0.1:2121'), { url: 'ftp://127.0.0.1:2121', scheme: 'ftp', host: '127.0.0.1', port: 2121 });
  assert.equal(parseTarget('ftps://example.org').port, 990);
  assert.equal(parseTarget('sftp://example.org').port, 22);
  assert.equal(parseTarget('ftp://[::1]:21').host, '::1');
  assert.equal(parseTarget('ftp://[::1]:21').url, 'ftp://[::1]:21');
  assert.throws(() => parseTarget('http://example.org'), /unsupported scheme/);
  assert.throws(() => parseTarget('ftp://user:pw@example.org'), /credentials in the URL/);
  assert.throws(() => parseTarget('not a url'), /not a URL/);
});

void test('parseReply: single, multi-line, incomplete, malformed', () => {
  assert.deepEqual(parseReply(['220 ready'])?.reply.code, 220);
  const m = parseReply(['211-Features:', ' AUTH TLS', ' PBSZ', '211 End', '200 next']);
  assert.equal(m?.consumed, 4);
  assert.equal(m?.reply.text, 'Features:\nAUTH TLS\nPBSZ\nEnd');
  assert.equal(parseReply(['211-Features:', ' SIZE']), undefined);
  // a line starting with the code and '-' inside a multi-line reply does not end it
  assert.equal(parseReply(['220-a', '220-b', '220 c'])?.consumed, 3);
  assert.throws(() => parseReply(['hello']), /malformed/);
});

void test('LineReader: overlong lines are errors, not truncated', () => {
  const r = new LineReader(10);
  r.push(Buffer.from('abc\r\nde'));
  assert.deepEqual(r.lines, ['abc']);
  assert.throws(() => r.push(Buffer.from('x'.repeat(20))), /longer than 10/);
});

void test('PASV/EPSV parsing', () => {
  assert.deepEqual(parsePasv({ code: 227, lines: [], text: 'Entering Passive Mode (10,0,0,5,200,10).' }), {
    advertisedHost: '10.0.0.5',
    port: 200 * 256 + 10,
    reply: { code: 227, lines: [], text: 'Entering Passive Mode (10,0,0,5,200,10).' },
  });
  assert.equal(parsePasv({ code: 227, lines: [], text: '(300,0,0,5,1,1)' }), undefined);
  assert.equal(parseEpsv({ code: 229, lines: [], text: 'Entering Extended Passive Mode (|||6446|)' }), 6446);
});

void test('bounce address is never the client and never routable', () => {
  assert.equal(bounceAddress('127.0.0.1'), '127.0.0.2');
  assert.equal(bounceAddress('127.0.0.2'), '127.0.0.3');
  assert.equal(bounceAddress('192.168.1.10'), '192.0.2.1');
});

void test('candidate upload directories from a listing', () => {
  assert.deepEqual(
    candidateUploadDirs(['drwxrwxrwx    2 107      0            4096 Jan 01 12:00 incoming', '-rw-r--r-- 1 0 0 12 Jan 01 12:00 readme.txt', '01-01-20  12:00PM       <DIR>          upload', 'drwxr-xr-x 2 0 0 4096 Jan 01 12:00 docs']),
    ['incoming', 'upload'],
  );
});

void test('banner identification', () => {
  assert.deepEqual(identifyFtp('220 (vsFTPd 2.3.4)'), { product: 'vsftpd', version: '2.3.4' });
  assert.deepEqual(identifyFtp('220 ProFTPD 1.3.3c Server (ProFTPD) [::ffff:1.2.3.4]'), { product: 'ProFTPD', version: '1.3.3c' });
  assert.deepEqual(identifyFtp('220 Microsoft FTP Service'), { product: 'Microsoft FTP Service' });
  assert.deepEqual(identifyFtp('220 Serv-U FTP Server v15.1 ready...'), { product: 'Serv-U', version: '15.1' });
  assert.equal(identifyFtp('220 Service ready'), undefined);
  const id = parseSshIdent('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3')!;
  assert.deepEqual(identifySsh(id), { product: 'OpenSSH', version: '9.2p1', distro: 'Debian-2+deb12u3' });
  assert.equal(parseSshIdent('SSH-1.99-OpenSSH_3.9p1')?.protoVersion, '1.99');
});

void test('advisories: ranges, backports, custom file, validation', () => {
  const db = loadAdvisories();
  const v = matchAdvisories(db, { product: 'ProFTPD', version: '1.3.2rc3' });
  assert.ok(v.matches.some((m) => m.cves.includes('CVE-2010-4221')));
  assert.ok(!matchAdvisories(db, { product: 'ProFTPD', version: '1.3.2rc2' }).matches.some((m) => m.cves.includes('CVE-2010-4221')));
  assert.ok(!matchAdvisories(db, { product: 'OpenSSH', version: '9.8p1' }).matches.length);
  assert.ok(matchAdvisories(db, { product: 'OpenSSH', version: '8.5p1' }).matches.some((m) => m.cves.includes('CVE-2024-6387')));
  assert.ok(!matchAdvisories(db, { product: 'OpenSSH', version: '8.4p1' }).matches.some((m) => m.cves.includes('CVE-2024-6387')));
  const patched = matchAdvisories(db, { product: 'OpenSSH', version: '9.2p1', distro: 'Debian-2+deb12u5' });
  assert.equal(patched.matches.length, 0);
  assert.equal(patched.patchedBackports.length, 1);
  const unknownDistro = matchAdvisories(db, { product: 'OpenSSH', version: '9.3p1', distro: 'FreeBSD-20230316' });
  assert.match(unknownDistro.matches[0]!.distroNote!, /may carry a backported fix/);

  const dir = mkdtempSync(path.join(tmpdir(), 'pcscan-adv-'));
  const f = path.join(dir, 'a.json');
  writeFileSync(f, JSON.stringify({ schemaVersion: 1, date: '2030-01-01', advisories: [{ id: 'x', product: 'Pure-FTPd', affected: [{ before: '9.0' }], cves: ['CVE-2030-0001'], knownExploited: true, published: '2030-01-01', severity: 'critical', summary: 's', confirm: 'c' }] }));
  const custom = loadAdvisories(f);
  assert.equal(custom.date, '2030-01-01');
  assert.equal(matchAdvisories(custom, { product: 'pure-ftpd', version: '1.0.50' }).matches[0]?.knownExploited, true);
  writeFileSync(f, JSON.stringify({ schemaVersion: 1, date: 'x', advisories: [{ id: 'x', product: 'p', affected: [], cves: [], knownExploited: false, published: 'd', severity: 'high', summary: 's', confirm: 'c' }] }));
  assert.throws(() => loadAdvisories(f), /affected/);
});

void test('advisories: the file-transfer products on the CISA KEV list, and the mod_copy fix version', () => {
  const db = loadAdvisories();
  const cves = (product: string, version: string): string[] => matchAdvisories(db, { product, version }).matches.flatMap((m) => m.cves);
  const servu = matchAdvisories(db, identifyFtp('220 Serv-U FTP Server v15.4 ready...'));
  assert.ok(servu.matches.some((m) => m.cves.includes('CVE-2024-28995') && m.knownExploited), JSON.stringify(servu));
  assert.ok(!cves('Serv-U', '15.4.2.157').includes('CVE-2024-28995'));
  assert.ok(cves('Serv-U', '15.5.4').includes('CVE-2026-28318'));
  assert.ok(cves('CrushFTP', '11.3.0').includes('CVE-2025-31161'));
  assert.ok(!cves('CrushFTP', '11.3.1').includes('CVE-2025-31161'));
  assert.ok(cves('CrushFTP', '10.8.4').includes('CVE-2025-54309'));
  assert.ok(!cves('CrushFTP', '11.3.4_23').includes('CVE-2025-54309'));
  // CVE-2019-12815: 1.3.6 and 1.3.6a are affected, 1.3.6b is the fix
  assert.ok(cves('ProFTPD', '1.3.6a').includes('CVE-2019-12815'));
  assert.ok(!cves('ProFTPD', '1.3.6b').includes('CVE-2019-12815'));
  for (const a of db.advisories) if (a.knownExploited) assert.ok(a.cves.length > 0, `${a.id}: a KEV entry names its CVE`);
});

void test('SSH algorithm judgements and Terrapin preconditions', () => {
  assert.deepEqual(weakKex(['curve25519-sha256', 'diffie-hellman-group14-sha1', 'gss-group1-sha1-toWM5Slw5Ew8Mqkay+al2g==', 'diffie-hellman-group14-sha256']), ['diffie-hellman-group14-sha1', 'gss-group1-sha1-toWM5Slw5Ew8Mqkay+al2g==']);
  assert.deepEqual(weakCiphers(['aes128-ctr', 'aes128-cbc', 'arcfour256', 'none', 'chacha20-poly1305@openssh.com']), ['aes128-cbc', 'arcfour256', 'none']);
  assert.deepEqual(weakMacs(['hmac-sha1', 'hmac-sha1-etm@openssh.com', 'umac-64-etm@openssh.com', 'hmac-sha2-256']), ['hmac-sha1', 'umac-64-etm@openssh.com']);
  assert.deepEqual(weakHostKeyAlgorithms(['ssh-ed25519', 'rsa-sha2-512', 'ssh-rsa', 'ssh-dss']), ['ssh-rsa', 'ssh-dss']);
  const base = { hostKey: [], compressionC2S: [], compressionS2C: [], firstKexPacketFollows: false };
  assert.equal(terrapin({ ...base, kex: ['curve25519-sha256'], ciphersC2S: ['chacha20-poly1305@openssh.com'], ciphersS2C: [], macsC2S: [], macsS2C: [] }).vulnerable, true);
  assert.equal(terrapin({ ...base, kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'], ciphersC2S: ['chacha20-poly1305@openssh.com'], ciphersS2C: [], macsC2S: [], macsS2C: [] }).vulnerable, false);
  assert.equal(terrapin({ ...base, kex: ['x'], ciphersC2S: ['aes128-cbc'], ciphersS2C: [], macsC2S: ['hmac-sha2-256-etm@openssh.com'], macsS2C: [] }).vulnerable, true);
  assert.equal(terrapin({ ...base, kex: ['x'], ciphersC2S: ['aes128-gcm@openssh.com'], ciphersS2C: [], macsC2S: ['hmac-sha2-256-etm@openssh.com'], macsS2C: [] }).vulnerable, false);
});

void test('connection budget: bounded parallel and total', async () => {
  const ac = new AbortController();
  const b = new ConnectionBudget(ac.signal, 2, 3);
  const r1 = await b.acquire();
  const r2 = await b.acquire();
  let third = false;
  const p3 = b.acquire().then((r) => {
    third = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false);
  r1();
  const r3 = await p3;
  assert.equal(third, true);
  r2();
  r3();
  await assert.rejects(b.acquire(), /budget of 3/);
  ac.abort();
});
