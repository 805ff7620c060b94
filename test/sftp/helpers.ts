// Shared set-up for the SFTP black-box suites: a real server, a user with a key and a
// password, and wrappers for the real clients (OpenSSH sftp/scp, paramiko, curl). Every
// client runs as an async child process; a missing binary fails the test with a clear message.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';

export const USER = 'alice';
export const PASSWORD = 'correct horse battery staple';

export interface SftpFixture {
  srv: TestServer;
  port: number;
  dir: string;
  key: string;
  home: string;
}

/** Fails (never skips) when a client binary is missing. */
export async function requireBinary(file: string, apt: string): Promise<void> {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin']);
  for (const d of dirs) {
    try {
      await access(path.join(d, file));
      return;
    } catch {
      // next
    }
  }
  throw new Error(`${file} is required for this test: apt-get install -y ${apt}`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without a TTY (setsid) and collects its output. */
export function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...options.env }, cwd: options.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export async function startSftpFixture(t: TestContext, config: Parameters<typeof startTestServer>[1] = {}): Promise<SftpFixture> {
  await requireBinary('ssh-keygen', 'openssh-client');
  const dir = await makeTempDir(t, 'portcullis-sftp-');
  const key = path.join(dir, 'id_ed25519');
  await new Promise<void>((resolve, reject) => execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', key], (err) => (err ? reject(new Error(err.message)) : resolve())));
  const srv = await startTestServer(t, config);
  await srv.addUser(USER, { password: PASSWORD, keyFile: `${key}.pub` });
  return { srv, port: srv.port('sftp'), dir, key, home: path.join(srv.dataDir, 'home', USER) };
}

export const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

/** OpenSSH sftp in batch mode with the fixture's key. */
export async function sftpBatch(f: SftpFixture, commands: string[], extra: string[] = []): Promise<RunResult> {
  await requireBinary('sftp', 'openssh-client');
  const batch = path.join(f.dir, `batch-${randomBytes(4).toString('hex')}`);
  await writeFile(batch, commands.join('\n') + '\n');
  return run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.key, '-P', String(f.port), ...extra, '-b', batch, `${USER}@127.0.0.1`], { cwd: f.dir });
}

/** An SSH_ASKPASS program that prints the password (no TTY: setsid + SSH_ASKPASS_REQUIRE=force). */
export async function askpass(f: SftpFixture, password = PASSWORD): Promise<NodeJS.ProcessEnv> {
  const file = path.join(f.dir, `askpass-${randomBytes(4).toString('hex')}.sh`);
  await writeFile(file, `#!/bin/sh\nprintf '%s\\n' '${password.replace(/'/g, "'\\''")}'\n`);
  await chmod(file, 0o700);
  return { SSH_ASKPASS: file, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'x' };
}

export async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

export async function makeFile(file: string, bytes: number): Promise<string> {
  const data = randomBytes(bytes);
  await writeFile(file, data);
  return createHash('sha256').update(data).digest('hex');
}
