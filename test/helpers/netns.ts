// IPv6 hosts of their own for the tests: a network namespace joined to this one by a veth pair.
// This side holds fd00:64::1/64 and fd00:65::1/64 (listen on fd00:64::1); the namespace holds
// several addresses of fd00:64::/64 and one of fd00:65::/64, so a test can connect from many
// addresses of one /64 and from another /64. Needs root and iproute2 (CI runs as root).
import { execFile } from 'node:child_process';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Ipv6Net {
  /** The address to listen on (this side). */
  server: string;
  /** Client addresses in the namespace, all in fd00:64::/64. */
  samePrefix: string[];
  /** A client address in another /64 (fd00:65::/64). */
  otherPrefix: string;
  /** Runs a program inside the namespace. */
  run(file: string, args: string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Argv prefix that runs a program inside the namespace (for spawn). */
  prefix: string[];
}

export async function makeIpv6Net(t: TestContext): Promise<Ipv6Net> {
  if (process.getuid?.() !== 0) throw new Error('this test needs root to create a network namespace (CI runs as root)');
  const id = `${process.pid % 100_000}`;
  const ns = `pc-test-${id}`;
  const [here, there] = [`pch${id}`, `pct${id}`];
  const ip = (...args: string[]) => exec('ip', args);
  const inNs = (...args: string[]) => exec('ip', ['netns', 'exec', ns, 'ip', ...args]);
  await ip('netns', 'del', ns).catch(() => undefined);
  await ip('link', 'del', here).catch(() => undefined);
  t.after(async () => {
    await ip('netns', 'del', ns).catch(() => undefined);
    await ip('link', 'del', here).catch(() => undefined);
  });
  await ip('netns', 'add', ns);
  await ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there);
  await ip('link', 'set', there, 'netns', ns);
  for (const a of ['fd00:64::1/64', 'fd00:65::1/64']) await ip('-6', 'addr', 'add', a, 'dev', here, 'nodad');
  await ip('link', 'set', here, 'up');
  await inNs('link', 'set', 'lo', 'up');
  await inNs('link', 'set', there, 'up');
  const samePrefix = ['fd00:64::a', 'fd00:64::b', 'fd00:64::c', 'fd00:64::d', 'fd00:64:0:0:ffff::e', 'fd00:64::f'];
  for (const a of [...samePrefix, 'fd00:65::a']) await inNs('-6', 'addr', 'add', `${a}/64`, 'dev', there, 'nodad');
  const prefix = ['ip', 'netns', 'exec', ns];
  return {
    server: 'fd00:64::1',
    samePrefix,
    otherPrefix: 'fd00:65::a',
    prefix,
    run: (file, args, timeoutMs = 60_000) =>
      new Promise((resolve) => {
        execFile('ip', ['netns', 'exec', ns, file, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        });
      }),
  };
}
