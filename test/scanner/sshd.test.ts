// Real OpenSSH sshd (Debian package "openssh-server") with private configs and host keys.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scan, show } from './helpers/scan.ts';
import { startSshd } from './helpers/sshd.ts';
import type { CheckResult } from '../../src/scanner/types.ts';

function expectStatus(r: { get(id: string): CheckResult }, id: string, status: string): void {
  assert.equal(r.get(id).status, status, show(r.get(id)));
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
    // advice in sshd_config's words, and honest where OpenSSH has no setting
    for (const [id, directive] of [['ssh.weak-kex', /sshd_config: KexAlgorithms /], ['ssh.weak-cipher', /sshd_config: Ciphers /], ['ssh.weak-mac', /sshd_config: MACs /], ['ssh.password-auth', /PasswordAuthentication no/]] as const) {
      assert.equal(r.get(id).fixFor, 'OpenSSH', id);
      assert.match(r.get(id).fix, directive, id);
    }
    assert.match(r.get('svc.version-disclosure').fix, /no setting removes it/);
    assert.doesNotMatch(r.get('ssh.password-auth').fix, /scan again/);
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
