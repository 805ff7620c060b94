// Real OpenSSH sshd (Debian package "openssh-server") with private configs and host keys.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { requireBinary, tempDir } from './helpers/certs.ts';
import { freePort, startDaemon } from './helpers/daemon.ts';
import { scan, show } from './helpers/scan.ts';
import type { CheckResult } from '../../src/scanner/types.ts';

const SSHD = '/usr/sbin/sshd';

function expectStatus(r: { get(id: string): CheckResult }, id: string, status: string): void {
  assert.equal(r.get(id).status, status, show(r.get(id)));
}

async function startSshd(t: TestContext, keys: [type: string, bits?: number][], lines: string[]): Promise<string> {
  requireBinary(SSHD, 'openssh-server');
  requireBinary('ssh-keygen', 'openssh-client');
  mkdirSync('/run/sshd', { recursive: true }); // privilege-separation directory sshd insists on
  const dir = tempDir(t, 'pcscan-sshd-');
  const hostKeys = keys.map(([type, bits], i) => {
    const f = path.join(dir, `host_${type}_${i}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-f', f], { stdio: 'pipe' });
    return `HostKey ${f}`;
  });
  const port = await freePort();
  const conf = path.join(dir, 'sshd_config');
  writeFileSync(conf, ['ListenAddress 127.0.0.1', 'PidFile none', 'UsePAM no', 'StrictModes no', ...hostKeys, ...lines, ''].join('\n'));
  await startDaemon(t, SSHD, ['-D', '-e', '-f', conf, '-p', String(port)], port);
  return `sftp://127.0.0.1:${port}`;
}

void describe('real OpenSSH sshd', () => {
  void test('legacy config: SHA-1 kex, CBC, weak MACs, ssh-rsa, 1024-bit RSA key, password auth', async (t) => {
    const url = await startSshd(t, [['rsa', 1024], ['ed25519']], [
      'RequiredRSASize 1024',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'KexAlgorithms curve25519-sha256,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1',
      'Ciphers aes128-ctr,aes128-cbc,3des-cbc',
      'MACs hmac-sha2-256-etm@openssh.com,hmac-sha1,hmac-md5',
      'HostKeyAlgorithms ssh-ed25519,rsa-sha2-256,ssh-rsa',
    ]);
    const r = await scan(url);
    for (const id of ['ssh.weak-kex', 'ssh.weak-cipher', 'ssh.weak-mac', 'ssh.weak-hostkey-algorithm', 'ssh.small-hostkey', 'ssh.password-auth', 'svc.version-disclosure', 'svc.exposed-service']) {
      expectStatus(r, id, 'fail');
    }
    expectStatus(r, 'ssh.protocol-v1', 'pass');
    assert.match(r.get('ssh.small-hostkey').evidence[0]!, /ssh-rsa 1024 bits/);
    // CBC + EtM are offered, but Debian's OpenSSH 9.2 has strict key exchange: not Terrapin-vulnerable
    expectStatus(r, 'ssh.terrapin', 'pass');
    assert.match(r.get('ssh.terrapin').evidence.join(' '), /strict key exchange/);
    // Debian backport suffix honoured: 9.2p1 is in the regreSSHion range but patched in Debian-2+deb12u3+
    const adv = r.get('svc.vulnerable-version');
    assert.match(JSON.stringify(adv), /Debian/);
  });

  void test('hardened config: modern algorithms only, Ed25519 + RSA-3072 keys, public keys only', async (t) => {
    const url = await startSshd(t, [['ed25519'], ['rsa', 3072]], [
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org',
      'Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes128-ctr',
      'MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com',
      'HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256',
    ]);
    const r = await scan(url);
    for (const id of ['ssh.protocol-v1', 'ssh.weak-kex', 'ssh.weak-cipher', 'ssh.weak-mac', 'ssh.weak-hostkey-algorithm', 'ssh.small-hostkey', 'ssh.password-auth', 'ssh.terrapin']) {
      expectStatus(r, id, 'pass');
    }
    assert.match(r.get('ssh.small-hostkey').evidence.join(' '), /ssh-rsa: 3072 bits/);
    assert.match(r.get('ssh.password-auth').evidence.join(' '), /publickey/);
    for (const id of ['ftp.anonymous-login', 'tls.legacy-protocol']) expectStatus(r, id, 'not-applicable');
  });
});
