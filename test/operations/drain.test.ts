// A restart for an upgrade does not cut transfers (issue 18): on SIGTERM the server refuses new
// connections at once, lets an OpenSSH sftp download and an lftp FTPS upload that are running
// finish and verify, logs its progress, and then exits cleanly.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startServe } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/server.ts';
import { prepareTransfers, startSlowTransfers } from './transfers.ts';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM drains: new connections refused, a running sftp download and lftp upload complete and verify, then a clean exit', { timeout: 180_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const f = await prepareTransfers(dir);

  const server = await startServe([], { cwd: dir });
  const out = server.lines.join('\n');
  const sftpPort = Number(/sftp listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  const ftpsPort = Number(/ftps \(explicit\) listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  assert.ok(sftpPort > 0 && ftpsPort > 0, out);

  // Both transfers rate-limited by their clients so that they run across the stop.
  const transfers = await startSlowTransfers(dir, f, sftpPort, ftpsPort);
  await new Promise((r) => setTimeout(r, 3_000));
  const stopped = server.stop();
  // New connections are refused at once on both protocols.
  for (let i = 0; i < 50 && !(await refused(sftpPort)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await refused(sftpPort), true, 'sftp listener closed');
  assert.equal(await refused(ftpsPort), true, 'ftps listener closed');

  await transfers.done;
  const result = await stopped;
  assert.equal(result.code, 0, result.stderr);
  const log = result.stdout + result.stderr;
  assert.match(log, /draining: \d transfer\(s\) still running/);
  assert.match(log, /drain complete/);
});
