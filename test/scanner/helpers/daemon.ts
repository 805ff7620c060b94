// Start a real daemon (vsftpd, sshd) on a free loopback port, stop it in t.after.
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { TestContext } from 'node:test';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitForBanner(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('data', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.setTimeout(1000, () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`daemon did not answer on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startDaemon(t: TestContext, cmd: string, args: string[], port: number): Promise<{ stderr: () => string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  try {
    await Promise.race([
      waitForBanner(port, Date.now() + 10_000),
      exited.then(() => {
        throw new Error(`${cmd} exited early: ${err}`);
      }),
    ]);
  } catch (e) {
    throw new Error(`${cmd} did not start: ${(e as Error).message}\n${err}`, { cause: e });
  }
  return { stderr: () => err };
}
