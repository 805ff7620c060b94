// Banner/KEXINIT-only SSH cases against a fake server that sends an identification and a KEXINIT.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { scan, show } from './helpers/scan.ts';
import type { CheckResult } from '../../src/scanner/types.ts';

function nameList(names: string[]): Buffer {
  const b = Buffer.from(names.join(','), 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function kexinitPacket(o: { kex: string[]; hostKey: string[]; ciphers: string[]; macs: string[] }): Buffer {
  const payload = Buffer.concat([
    Buffer.from([20]),
    Buffer.alloc(16, 7),
    nameList(o.kex),
    nameList(o.hostKey),
    nameList(o.ciphers),
    nameList(o.ciphers),
    nameList(o.macs),
    nameList(o.macs),
    nameList(['none']),
    nameList(['none']),
    nameList([]),
    nameList([]),
    Buffer.from([0, 0, 0, 0, 0]),
  ]);
  let pad = 8 - ((payload.length + 5) % 8);
  if (pad < 4) pad += 8;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + pad + 1);
  head[4] = pad;
  return Buffer.concat([head, payload, Buffer.alloc(pad)]);
}

async function fakeSsh(t: TestContext, ident: string, kex?: Parameters<typeof kexinitPacket>[0]): Promise<string> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.write(`${ident}\r\n`);
    if (kex) s.write(kexinitPacket(kex));
    else setTimeout(() => s.end(), 50);
    setTimeout(() => s.destroy(), 500);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  return `sftp://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
}

function expectStatus(r: { get(id: string): CheckResult }, id: string, status: string): void {
  assert.equal(r.get(id).status, status, show(r.get(id)));
}

const MODERN = {
  kex: ['curve25519-sha256', 'kex-strict-s-v00@openssh.com'],
  hostKey: ['ssh-ed25519'],
  ciphers: ['aes256-gcm@openssh.com', 'aes128-ctr'],
  macs: ['hmac-sha2-256-etm@openssh.com'],
};

void describe('fake SSH servers', () => {
  void test('SSH-1.99, chacha20 without strict kex (Terrapin), ssh-dss, old OpenSSH advisory', async (t) => {
    const url = await fakeSsh(t, 'SSH-1.99-OpenSSH_7.4p1', {
      kex: ['diffie-hellman-group-exchange-sha1', 'curve25519-sha256@libssh.org'],
      hostKey: ['ssh-dss', 'ssh-rsa'],
      ciphers: ['chacha20-poly1305@openssh.com', 'arcfour', 'blowfish-cbc'],
      macs: ['hmac-md5-96', 'umac-64@openssh.com'],
    });
    const r = await scan(url, { timeoutMs: 2000 });
    for (const id of ['ssh.protocol-v1', 'ssh.terrapin', 'ssh.weak-kex', 'ssh.weak-cipher', 'ssh.weak-mac', 'ssh.weak-hostkey-algorithm', 'svc.vulnerable-version']) {
      expectStatus(r, id, 'fail');
    }
    assert.deepEqual(r.get('svc.vulnerable-version').advisories?.flatMap((a) => a.cves), ['CVE-2018-15473']);
    // host keys/auth need a full handshake the fake cannot do: reported as errors, never passed
    expectStatus(r, 'ssh.small-hostkey', 'error');
    expectStatus(r, 'ssh.password-auth', 'error');
  });

  void test('SSH-1.5 only: protocol 1 found, the SSH-2 checks say why they could not run', async (t) => {
    const url = await fakeSsh(t, 'SSH-1.5-Cisco-1.25');
    const r = await scan(url, { timeoutMs: 2000 });
    expectStatus(r, 'ssh.protocol-v1', 'fail');
    expectStatus(r, 'ssh.weak-kex', 'error');
    assert.match(r.get('ssh.weak-kex').reason!, /no SSH-2 key exchange/);
  });

  void test('modern KEXINIT with strict kex: no algorithm findings; no version shown', async (t) => {
    const url = await fakeSsh(t, 'SSH-2.0-Server', MODERN);
    const r = await scan(url, { timeoutMs: 2000 });
    for (const id of ['ssh.protocol-v1', 'ssh.terrapin', 'ssh.weak-kex', 'ssh.weak-cipher', 'ssh.weak-mac', 'ssh.weak-hostkey-algorithm', 'svc.version-disclosure', 'svc.vulnerable-version']) {
      expectStatus(r, id, 'pass');
    }
  });

  void test('regreSSHion: upstream 9.6p1 matches, Debian-2+deb12u2 is older than the fix, Debian-2+deb12u3 is a patched backport', async (t) => {
    const upstream = await scan(await fakeSsh(t, 'SSH-2.0-OpenSSH_9.6p1', MODERN), { timeoutMs: 2000 });
    expectStatus(upstream, 'svc.vulnerable-version', 'fail');
    assert.equal(upstream.get('svc.vulnerable-version').severity, 'high');
    assert.equal(upstream.get('svc.vulnerable-version').potential, true);
    assert.match(upstream.get('svc.vulnerable-version').evidence[0]!, /CVE-2024-6387.*To confirm/);

    const old = await scan(await fakeSsh(t, 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2', MODERN), { timeoutMs: 2000 });
    expectStatus(old, 'svc.vulnerable-version', 'fail');
    assert.match(old.get('svc.vulnerable-version').advisories![0]!.distroNote!, /older than the fixed Debian 12/);

    const patched = await scan(await fakeSsh(t, 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3', MODERN), { timeoutMs: 2000 });
    expectStatus(patched, 'svc.vulnerable-version', 'pass');
    assert.match(patched.get('svc.vulnerable-version').evidence.join(' '), /patched backport/);
  });
});
