// The defender against honest clients (issue 13.3), on the default defender and rate-limit
// settings: real clients in the loops operators' scripts run (ssh-keyscan then sftp, curl with
// one login per operation, rclone with parallel transfers, lftp with parallel connections)
// never get their address banned, a correct password for a user who has not enrolled MFA yet
// is not scored, and a ban ends the guessing connections already open. An attacker's pattern
// (wrong passwords, a connection flood) is still banned.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { parseConfig } from '../../src/config/load.ts';
import { runCli } from '../helpers/cli.ts';
import { askpass, makeFile, PASSWORD, requireBinary, run, SSH_OPTS, startSftpFixture, USER, type SftpFixture } from '../sftp/helpers.ts';

const DEFAULTS = parseConfig({});
/** The shipped defender and rate limits (the test server turns both off unless asked). */
const DEFAULT_POLICY = { defender: DEFAULTS.defender, rateLimits: DEFAULTS.rateLimits };

async function noBans(f: SftpFixture): Promise<void> {
  await f.srv.server.core.trail?.flush();
  const bans = await f.srv.server.core.store.policy.activeBans();
  const added = await f.srv.server.core.store.audit.search({ eventPrefix: 'policy.ban.added' });
  assert.deepEqual(bans, [], `no ban: ${JSON.stringify(bans)}`);
  assert.equal(added.length, 0);
}

async function openFtpsCheck(f: SftpFixture): Promise<string> {
  return path.join(f.srv.dataDir, 'tls', 'cert.pem');
}

test('real clients in loops on the default policy are never banned (ssh-keyscan + sftp, curl per operation, rclone parallel, lftp parallel)', { timeout: 300_000 }, async (t) => {
  for (const b of ['ssh-keyscan', 'sftp', 'curl', 'rclone', 'lftp']) await requireBinary(b, b === 'rclone' || b === 'lftp' || b === 'curl' ? b : 'openssh-client');
  const f = await startSftpFixture(t, DEFAULT_POLICY);
  const ftpsPort = f.srv.port('ftps (explicit)');
  const ca = await openFtpsCheck(f);
  const src = path.join(f.dir, 'src');
  await mkdir(src);
  for (let i = 0; i < 24; i++) await makeFile(path.join(src, `f${i}.bin`), 4096 + i);

  // 1. A monitoring or deployment script: ssh-keyscan (one connection per key type), then sftp.
  for (let round = 0; round < 4; round++) {
    const scan = await run('ssh-keyscan', ['-p', String(f.port), '127.0.0.1']);
    assert.match(scan.stdout, /ssh-ed25519/, scan.stderr);
    const batch = path.join(f.dir, 'b');
    await writeFile(batch, `put ${path.join(src, 'f0.bin')} k${round}.bin\nls\n`);
    const r = await run('sftp', [...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.key, '-P', String(f.port), '-b', batch, `${USER}@127.0.0.1`]);
    assert.equal(r.code, 0, r.stderr);
  }

  // 2. curl, one login per operation (upload, list, download), as a shell loop does it.
  const url = `ftp://127.0.0.1:${ftpsPort}`;
  const curl = (...args: string[]) => run('curl', ['-sS', '--ssl-reqd', '--cacert', ca, '-u', `${USER}:${PASSWORD}`, '--max-time', '30', ...args]);
  for (let i = 0; i < 12; i++) {
    const up = await curl('-T', path.join(src, `f${i}.bin`), `${url}/c${i}.bin`);
    assert.equal(up.code, 0, up.stderr);
    const ls = await curl('-l', `${url}/`);
    assert.equal(ls.code, 0, ls.stderr);
    const down = await curl('-o', path.join(f.dir, `c${i}.out`), `${url}/c${i}.bin`);
    assert.equal(down.code, 0, down.stderr);
  }

  // 3. rclone over SFTP with parallel transfers and checkers: many connections at once.
  const obscured = await run('rclone', ['obscure', PASSWORD]);
  const remote = `:sftp,host=127.0.0.1,port=${f.port},user=${USER},pass=${obscured.stdout.trim()},disable_hashcheck=true,shell_type=none:`;
  const rc = await run('rclone', ['--config', path.join(f.dir, 'rclone.conf'), '--transfers', '8', '--checkers', '16', '--sftp-concurrency', '4', '--low-level-retries', '1', '--retries', '1', 'copy', src, `${remote}rc`]);
  assert.equal(rc.code, 0, rc.stderr);
  assert.equal((await readdir(path.join(f.home, 'rc'))).length, 24);

  // 4. lftp mirroring with parallel connections over FTPS, twice (it reconnects).
  for (let round = 0; round < 2; round++) {
    const script = [`set ssl:ca-file ${ca}`, 'set ftp:ssl-force true', 'set ftp:ssl-protect-data true', 'set net:max-retries 1', 'set cmd:fail-exit true', `open -u "${USER},${PASSWORD}" ftp://127.0.0.1:${ftpsPort}`, `mirror -R --parallel=4 ${src} lf${round}`].join('\n');
    const r = await run('lftp', ['-c', script]);
    assert.equal(r.code, 0, `lftp: ${r.stderr}`);
  }
  assert.equal((await readdir(path.join(f.home, 'lf1'))).length, 24);

  await noBans(f);
  // The burst allowance, not luck: nothing was even rate-limited.
  const refused = await f.srv.server.core.store.audit.search({ eventPrefix: 'conn.refused' });
  assert.deepEqual(
    refused.map((r) => ('code' in r ? r.code : '')),
    [],
  );
});

test('a correct password without an enrolled MFA code is not scored: an MFA rollout bans no office (13.3)', { timeout: 180_000 }, async (t) => {
  const f = await startSftpFixture(t, { ...DEFAULT_POLICY, mfa: { required: true } });
  const env = await askpass(f);
  for (let i = 0; i < 10; i++) {
    // OpenSSH sftp with the right password: refused, MFA not enrolled (the banner names the command).
    const r = await run('sftp', [...SSH_OPTS, '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-P', String(f.port), `${USER}@127.0.0.1`], { env, input: 'ls\n' });
    assert.notEqual(r.code, 0);
  }
  await f.srv.server.core.trail?.flush();
  const notEnrolled = await f.srv.server.core.store.audit.search({ user: USER, eventPrefix: 'auth.failed' });
  assert.ok(notEnrolled.filter((e) => 'reason' in e && e.reason === 'mfa-not-enrolled').length >= 10, 'the refusals reached the server and say why');
  assert.equal(f.srv.server.core.access.defender.scoreOf('127.0.0.1'), 0);
  await noBans(f);
});

/** A raw TCP connection that has read the SSH banner and then sits: resolves when the server closes it. */
function sitting(port: number, from: string): Promise<{ closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.once('data', () => resolve({ closed }));
    s.once('error', reject);
    s.on('error', () => undefined);
  });
}

test('a ban ends the banned address connections that have not authenticated; its authenticated session goes on; attackers are still banned (13.3)', { timeout: 180_000 }, async (t) => {
  const f = await startSftpFixture(t, { ...DEFAULT_POLICY, limits: { maxConnectionsPerAddress: 64, maxUnauthenticatedPerAddress: 64 } });
  const from = '127.0.0.77';
  // An authenticated session from the address first.
  const client = new ssh2.Client();
  const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => {
    client.on('ready', () => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port: f.port, localAddress: from, username: USER, password: PASSWORD });
  });
  t.after(() => client.end());
  // Thirty guessing connections opened before the ban.
  const waiting = [];
  for (let i = 0; i < 30; i++) waiting.push(await sitting(f.port, from));
  // The attacker guesses names (2 points each, one name per attempt so that the per-name delay
  // does not stretch the test) until the default threshold bans it.
  const guess = (i: number) =>
    new Promise<void>((resolve) => {
      const c = new ssh2.Client();
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      c.on('ready', () => c.end());
      c.connect({ host: '127.0.0.1', port: f.port, localAddress: from, username: `nobody${i}`, password: 'guess', tryKeyboard: false, readyTimeout: 20_000 });
    });
  for (let i = 0; i < DEFAULTS.defender.threshold && !f.srv.server.core.access.defender.banOf(from); i++) await guess(i);
  assert.ok(f.srv.server.core.access.defender.banOf(from), 'the attacker is banned');
  // Every unauthenticated connection is closed by the ban, none by a timeout (the login timeout is 60 s).
  await Promise.all(waiting.map((w) => w.closed));
  await f.srv.server.core.trail?.flush();
  const dropped = await f.srv.server.core.store.audit.search({ eventPrefix: 'conn.dropped' });
  assert.ok(dropped.length >= 30, `conn.dropped records: ${dropped.length}`);
  assert.ok(dropped.every((d) => 'code' in d && d.code === 'ERR_ADMISSION_BANNED'));
  // The session that had authenticated still works.
  const names = await new Promise<string[]>((resolve, reject) => sftp.readdir('.', (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
  assert.ok(Array.isArray(names));

  // A ban added by an operator on the CLI reaches the running server and closes that address's waiting connections too.
  const other = '127.0.0.78';
  const more = [];
  for (let i = 0; i < 5; i++) more.push(await sitting(f.port, other));
  const added = await runCli(['ban', 'add', other, '--reason', 'test'], { env: { PORTCULLIS_DATA_DIR: f.srv.dataDir } });
  assert.equal(added.code, 0, added.stderr);
  await Promise.all(more.map((w) => w.closed));

  // A connection flood from one address: rate-limited at once, then banned (refusals score little, but they add up).
  const flooder = '127.0.0.79';
  for (let i = 0; i < 400 && !f.srv.server.core.access.defender.banOf(flooder); i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect({ port: f.port, host: '127.0.0.1', localAddress: flooder });
      s.on('connect', () => s.destroy());
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
  }
  assert.ok(f.srv.server.core.access.defender.banOf(flooder), 'a flood is still banned');
});
