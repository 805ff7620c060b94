// A real OpenSSH sshd (Debian package "openssh-server") on a free loopback port, with a private
// config and host keys; stopped when the test ends.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { requireBinary, tempDir } from './certs.ts';
import { freePort, startDaemon } from './daemon.ts';

const SSHD = '/usr/sbin/sshd';


export async function startSshd(t: TestContext, keys: [type: string, bits?: number][], lines: string[]): Promise<string> {
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

