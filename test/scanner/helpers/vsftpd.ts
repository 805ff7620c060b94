// A real vsftpd (Debian package "vsftpd") with a private config on a free loopback port; stopped
// when the test ends.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { requireBinary, tempDir, type CertPair } from './certs.ts';
import { freePort, startDaemon } from './daemon.ts';

const VSFTPD = '/usr/sbin/vsftpd';


export function ftpUid(): number {
  // the Debian package creates the "ftp" user; anonymous sessions run as it
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('ftp:'));
  if (!line) throw new Error('no "ftp" user: install the Debian package "vsftpd" (it creates it)');
  return Number(line.split(':')[2]);
}

export async function startVsftpd(t: TestContext, lines: string[], cert: CertPair): Promise<string> {
  requireBinary(VSFTPD, 'vsftpd');
  if (userInfo().uid !== 0) throw new Error('the vsftpd tests need root (vsftpd chroots anonymous sessions)');
  mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  const dir = tempDir(t, 'pcscan-vsftpd-');
  const port = await freePort();
  const conf = path.join(dir, 'vsftpd.conf');
  writeFileSync(
    conf,
    [
      'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'background=NO',
      'seccomp_sandbox=NO', 'isolate=NO', 'isolate_network=NO', 'delay_failed_login=0', 'use_localtime=NO',
      'secure_chroot_dir=/var/run/vsftpd/empty', 'pam_service_name=vsftpd', 'xferlog_enable=NO', 'dirmessage_enable=NO',
      `rsa_cert_file=${cert.certFile}`, `rsa_private_key_file=${cert.keyFile}`,
      ...lines.map((l) => l.replace('$DIR', dir)),
      '',
    ].join('\n'),
  );
  await startDaemon(t, VSFTPD, [conf], port);
  return `ftp://127.0.0.1:${port}`;
}

