// `portcullis sessions list` and `sessions kill` against a running server, through the control
// socket, with a real client in the middle of a transfer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { LiveSession } from '../../src/control/control-server.ts';
import { MiB, PASSWORD, USER, randomFile, requireBinary, startFtps } from '../ftps/helpers.ts';
import { runCli } from '../helpers/cli.ts';
import { waitFor } from './helpers.ts';

test('sessions list shows an FTPS download in progress; sessions kill ends it and is audited', async (t) => {
  await requireBinary(t, 'curl', 'apt-get install -y curl');
  const f = await startFtps(t);
  const control = f.srv.server.control;
  assert.ok(control, 'the control socket is up');
  assert.equal((await stat(control.path)).mode & 0o777, 0o600);
  await writeFile(path.join(f.work, 'portcullis.yaml'), `dataDir: ${JSON.stringify(f.srv.dataDir)}\n`);
  const cli = (args: string[]) => runCli(args, { cwd: f.work });

  // Larger than loopback's socket buffers on both sides together (autotuned up to ~10 MiB): with
  // 8 MiB the server could hand the whole file to the kernel before the kill and log it complete.
  await randomFile(f.home, 'big.bin', 48 * MiB);
  // A slow download (200 KiB/s): it is still running when we look and kill.
  const curl = spawn('curl', ['-sS', '--fail', '--cacert', f.caFile, '--ssl-reqd', '--limit-rate', '200K', '-u', `${USER}:${PASSWORD}`, '-o', path.join(f.work, 'out.bin'), `ftp://127.0.0.1:${f.explicitPort}/big.bin`], { stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => curl.on('close', (code) => r(code)));
  t.after(() => curl.kill('SIGKILL'));

  let sessions: LiveSession[] = [];
  await waitFor('a download in progress', async () => {
    const r = await cli(['sessions', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    sessions = JSON.parse(r.stdout) as LiveSession[];
    return sessions.some((s) => (s.transfer?.bytes ?? 0) > 0);
  });
  const s = sessions.find((x) => x.transfer)!;
  assert.equal(s.user, USER);
  assert.equal(s.protocol, 'ftps');
  assert.equal(s.address, '127.0.0.1');
  assert.equal(s.transfer!.direction, 'download');
  assert.equal(s.transfer!.path, '/big.bin');

  const table = await cli(['sessions', 'list']);
  assert.match(table.stdout, new RegExp(`${s.id}\\s+${USER}\\s+127\\.0\\.0\\.1\\s+ftps .* download /big\\.bin \\d+ bytes`));

  const kill = await cli(['sessions', 'kill', s.id.slice(0, 8)]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.match(kill.stdout, new RegExp(`killed ${s.id} \\(${USER} from 127\\.0\\.0\\.1, ftps\\)`));
  // The server ends the session at once (what curl already has in its socket buffers it may
  // still read, so the client is not waited for).
  await waitFor('the session to be gone', () => f.srv.server.core.sessions.size === 0 && f.srv.server.core.admission.connectionCount === 0, 5_000);
  curl.kill('SIGKILL');
  await exited;

  const unknown = await cli(['sessions', 'kill', 'ffffffff']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\[ERR_CONTROL_SESSION_NOT_FOUND\]/);

  await waitFor('the kill in the trail', async () => (await f.srv.server.core.store.audit.search({ eventPrefix: 'session.killed' })).length === 1);
  const [killed] = (await f.srv.server.core.store.audit.search({ eventPrefix: 'session.killed' })) as unknown as { target: string; user: string; protocol: string }[];
  assert.equal(killed!.target, s.id);
  assert.equal(killed!.user, USER);
  assert.equal(killed!.protocol, 'cli');
  await f.srv.server.core.trail?.flush(); // the trail writer gathers records for a few ms
  const downloads = await f.srv.server.core.store.audit.search({ eventPattern: 'file.download.*' });
  assert.equal(downloads.at(-1)!.event, 'file.download.failed');
});

test('sessions list without a running server: one clear line', async (t) => {
  const f = await startFtps(t);
  await writeFile(path.join(f.work, 'portcullis.yaml'), `dataDir: ${JSON.stringify(path.join(f.work, 'nothing'))}\n`);
  const r = await runCli(['sessions', 'list'], { cwd: f.work });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[ERR_CONTROL_UNAVAILABLE\]/);
});

test('sessions kill ends an active SFTP session (OpenSSH sftp mid-download)', async (t) => {
  const { startSftpFixture, SSH_OPTS, USER: SFTP_USER } = await import('../sftp/helpers.ts');
  const f = await startSftpFixture(t);
  await writeFile(path.join(f.dir, 'portcullis.yaml'), `dataDir: ${JSON.stringify(f.srv.dataDir)}\n`);
  const cli = (args: string[]) => runCli(args, { cwd: f.dir });
  await mkdir(f.home, { recursive: true }); // the home is created at first login
  await randomFile(f.home, 'big.bin', 8 * MiB);
  await writeFile(path.join(f.dir, 'batch'), 'get big.bin out.bin\n');
  // -l: a slow download (1600 Kbit/s), still running when we look and kill.
  const sftp = spawn('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.key, '-l', '1600', '-P', String(f.port), '-b', path.join(f.dir, 'batch'), `${SFTP_USER}@127.0.0.1`], { cwd: f.dir, stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((r) => sftp.on('close', (code) => r(code)));
  t.after(() => sftp.kill('SIGKILL'));

  let sessions: LiveSession[] = [];
  await waitFor('an SFTP download in progress', async () => {
    sessions = JSON.parse((await cli(['sessions', 'list', '--json'])).stdout) as LiveSession[];
    return sessions.some((s) => s.protocol === 'sftp' && (s.transfer?.bytes ?? 0) > 0);
  });
  const s = sessions.find((x) => x.protocol === 'sftp')!;
  assert.equal(s.user, SFTP_USER);
  assert.equal(s.transfer!.path, '/big.bin');
  const kill = await cli(['sessions', 'kill', s.id]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.notEqual(await exited, 0, 'the client saw its connection end');
  await waitFor('the session to be gone', () => f.srv.server.core.sessions.size === 0 && f.srv.server.core.admission.connectionCount === 0, 5_000);
  await waitFor('the kill in the trail', async () => (await f.srv.server.core.store.audit.search({ eventPrefix: 'session.killed' })).length === 1);
});
