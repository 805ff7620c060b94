// A restart for an upgrade refuses no connection (issue 18): on SIGUSR2 the server starts a new
// process with its listening sockets, the new one serves every connection from the moment it is
// ready, and the old one drains: an OpenSSH sftp download and an lftp FTPS upload running across
// the hand-over complete and verify, while a probe connecting every 100 ms to both ports is never
// refused and always gets a greeting. A successor that cannot start (a broken configuration on
// disk) leaves the running server serving.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { BIN, runCli } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';
import { prepareTransfers, run, SERVE_CONFIG, SSH, startSlowTransfers } from './transfers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CONFIG = SERVE_CONFIG;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `portcullis serve` whose output is read as it comes (a successor writes to the same pipes, so
 * the pipes stay open after the first process exits: its 'exit', not 'close', says it is gone).
 */
async function serve(t: TestContext, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ proc: ChildProcess; out: () => string; waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>; exited: Promise<number | null> }> {
  const base: NodeJS.ProcessEnv = { PORTCULLIS_QUIET_STALE: '1', ...process.env };
  delete base.INVOCATION_ID; // as if started by hand, even when the tests run in a systemd unit
  const proc = spawn(process.execPath, [BIN, 'serve'], { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const waitFor = async (re: RegExp, ms = 30_000): Promise<RegExpExecArray> => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
      const m = re.exec(out);
      if (m) return m;
    }
    throw new Error(`not seen in ${ms} ms: ${re}\n${out}`);
  };
  t.after(() => {
    // The first process and any successor it started (their pids are in the output).
    for (const m of out.matchAll(/hand-over: pid (\d+) is serving/g)) if (alive(Number(m[1]))) process.kill(Number(m[1]), 'SIGKILL');
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  await waitFor(/^ready$/m);
  return { proc, out: () => out, waitFor, exited };
}

/**
 * Connects every 100 ms to each port and reads the greeting; counts what did not get one. The
 * source address turns over 64 loopback addresses, so that the probe stays within the default
 * per-address rate limit (this is about the hand-over, not the defender).
 */
function probe(ports: { port: number; greeting: RegExp }[]): { stop: () => Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  let n = 0;
  const once = (port: number, greeting: RegExp) =>
    new Promise<void>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.2.${1 + (n++ % 64)}` });
      let got = '';
      const fail = (why: string) => {
        failed.push(`${port}: ${why}`);
        s.destroy();
        resolve();
      };
      const timer = setTimeout(() => fail(`no greeting in 5 s (got ${JSON.stringify(got)})`), 5_000);
      s.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (greeting.test(got)) {
          clearTimeout(timer);
          ok++;
          s.destroy();
          resolve();
        }
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        fail(e.message);
      });
      s.on('close', () => {
        clearTimeout(timer);
        if (!greeting.test(got)) fail(`closed before a greeting (got ${JSON.stringify(got)})`);
      });
    });
  const loop = (async () => {
    while (running) {
      await Promise.all(ports.map((p) => once(p.port, p.greeting)));
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { ok, failed };
    },
  };
}

test('SIGUSR2 hands the listeners to a new process: no refused connection, transfers across it complete and verify', { timeout: 180_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const f = await prepareTransfers(dir);
  const { key } = f;

  const server = await serve(t, dir);
  const sftpPort = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(server.out())?.[1]);
  const ftpsPort = Number(/ftps \(explicit\) listening on 127\.0\.0\.1:(\d+)/.exec(server.out())?.[1]);
  assert.ok(sftpPort > 0 && ftpsPort > 0, server.out());

  // Both transfers are rate-limited by their clients so that they run across the hand-over.
  const transfers = await startSlowTransfers(dir, f, sftpPort, ftpsPort);
  const probes = probe([
    { port: sftpPort, greeting: /^SSH-2\.0-/ },
    { port: ftpsPort, greeting: /^220 / },
  ]);
  await sleep(3_000);

  server.proc.kill('SIGUSR2');
  const successor = Number((await server.waitFor(/hand-over: pid (\d+) is serving/))[1]);
  assert.notEqual(successor, server.proc.pid);
  assert.ok(alive(successor), 'the successor runs');
  // While the old process drains, a new login is served (by the successor) on the same port.
  await writeFile(path.join(dir, 'ls-batch'), 'ls\n');
  const login = await run('sftp', [...SSH, '-i', key, '-P', String(sftpPort), '-b', path.join(dir, 'ls-batch'), 'alice@127.0.0.1']).done;
  assert.equal(login.code, 0, login.out);
  assert.match(login.out, /big\.bin/);

  await transfers.done;
  assert.equal(await server.exited, 0, server.out());
  assert.match(server.out(), /draining: \d transfer\(s\) still running, new connections go to the new process/);

  // After the old process is gone the successor still serves, and the CLI reaches it.
  await sleep(500);
  const { ok, failed } = await probes.stop();
  assert.deepEqual(failed, [], 'no connection refused or left without a greeting across the hand-over');
  assert.ok(ok > 20, `probes answered: ${ok}`);
  const sessions = await runCli(['sessions', 'list'], { cwd: dir });
  assert.equal(sessions.code, 0, sessions.stderr);
  const audit = await runCli(['audit', 'search', '--event', 'server.handover'], { cwd: dir });
  assert.match(audit.stdout, new RegExp(`successor[^\\n]*${successor}`), audit.stdout + audit.stderr);
  const verify = await runCli(['audit', 'verify'], { cwd: dir });
  assert.equal(verify.code, 0, `both processes wrote one intact chain: ${verify.stdout}${verify.stderr}`);

  process.kill(successor, 'SIGTERM');
  for (let i = 0; i < 100 && alive(successor); i++) await sleep(100);
  assert.equal(alive(successor), false, 'the successor stops on SIGTERM');
});

test('a successor that cannot start leaves the running server serving, and says why', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'portcullis.yaml'), CONFIG);
  const server = await serve(t, dir);
  const sftpPort = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(server.out())?.[1]);
  // The upgrade brings a configuration the new version refuses.
  await writeFile(path.join(dir, 'portcullis.yaml'), `${CONFIG}limits: { drainTimeoutMs: lots }\n`);
  server.proc.kill('SIGUSR2');
  await server.waitFor(/hand-over failed: the new process exited before it was ready/);
  assert.match(server.out(), /limits\.drainTimeoutMs/, 'the successor named the key');
  assert.equal(server.proc.exitCode, null, 'the running server goes on');
  await writeFile(path.join(dir, 'portcullis.yaml'), CONFIG); // the operator puts it right
  const greeting = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ port: sftpPort, host: '127.0.0.1' });
    s.once('data', (c: Buffer) => {
      s.destroy();
      resolve(c.toString('latin1'));
    });
    s.on('error', reject);
  });
  assert.match(greeting, /^SSH-2\.0-/);
  const sessions = await runCli(['sessions', 'list'], { cwd: dir });
  assert.equal(sessions.code, 0, `the control socket is back: ${sessions.stderr}`);
  const audit = await runCli(['audit', 'search', '--event', 'server.handover.failed'], { cwd: dir });
  assert.match(audit.stdout, /server\.handover\.failed/, audit.stdout + audit.stderr);
});

test('under systemd the hand-over is refused with what to do instead, and the server goes on', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'portcullis.yaml'), CONFIG);
  const server = await serve(t, dir, { INVOCATION_ID: '0123456789abcdef0123456789abcdef' });
  server.proc.kill('SIGUSR2');
  await server.waitFor(/hand-over failed: running under systemd: restart with `systemctl restart portcullis` and socket activation/);
  await sleep(300);
  assert.equal(server.proc.exitCode, null, 'the running server goes on');
  assert.doesNotMatch(server.out(), /listening sockets taken over/, 'no second process started');
});

test('socket activation: a listener takes the inherited socket of its name instead of binding its port, and an unknown name is reported', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'portcullis.yaml'), CONFIG);
  // Bound here, as systemd would: the server must serve on these, not on ports of its own.
  const held = await Promise.all([0, 1].map(() => new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen({ host: '127.0.0.1', port: 0 }, () => resolve(s));
  })));
  t.after(() => held.forEach((s) => s.close()));
  const fds = held.map((s) => (s as unknown as { _handle: { fd: number } })._handle.fd);
  const port = (held[0]!.address() as net.AddressInfo).port;
  const base: NodeJS.ProcessEnv = { PORTCULLIS_QUIET_STALE: '1', ...process.env, LISTEN_FDS: '2', LISTEN_FDNAMES: 'sftp:webdav' };
  delete base.INVOCATION_ID;
  const proc = spawn(process.execPath, [BIN, 'serve'], { cwd: dir, env: base, stdio: ['ignore', 'pipe', 'pipe', ...fds] });
  t.after(() => proc.kill('SIGKILL'));
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  for (let i = 0; i < 300 && !/^ready$/m.test(out); i++) await sleep(100);
  assert.match(out, new RegExp(`sftp listening on 127\\.0\\.0\\.1:${port}\\b`), out);
  assert.match(out, /WARNING: inherited sockets not used: webdav/);
  held.forEach((s) => s.close()); // ours closed: the server's copy still accepts
  const greeting = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('data', (c: Buffer) => {
      s.destroy();
      resolve(c.toString('latin1'));
    });
    s.on('error', reject);
  });
  assert.match(greeting, /^SSH-2\.0-/);
});
