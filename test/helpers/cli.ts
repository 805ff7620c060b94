// Runs the real `portcullis` command (bin/portcullis.js) as a child process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { cwd?: string; stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { PORTCULLIS_QUIET_STALE: '1', ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Starts `portcullis serve` and resolves once it printed `ready` (or rejects with its output). */
export function startServe(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ lines: string[]; stop(): Promise<CliResult>; signal(name: NodeJS.Signals): void; output(): { stdout: string; stderr: string } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: options.cwd, env: { PORTCULLIS_QUIET_STALE: '1', ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const done = new Promise<CliResult>((r) => child.on('close', (code) => r({ code, stdout, stderr })));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not become ready in 30 s:\n${stdout}\n${stderr}`));
    }, 30_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (/^ready$/m.test(stdout)) {
        clearTimeout(timer);
        resolve({
          lines: stdout.split('\n'),
          stop: async () => {
            child.kill('SIGTERM');
            return done;
          },
          signal: (name) => child.kill(name),
          output: () => ({ stdout, stderr }),
        });
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    void done.then((r) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${r.code} before ready:\n${r.stdout}\n${r.stderr}`));
    });
  });
}
