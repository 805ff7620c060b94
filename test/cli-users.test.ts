// The user and key commands, round trip, through the real CLI; secrets never reach the logs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { runCli } from './helpers/cli.ts';
import { makeTempDir } from './helpers/server.ts';

test('user add / list / passwd / key add|list|remove / remove round trip', async (t) => {
  const dir = await makeTempDir(t);
  const cfg = path.join(dir, 'p.yaml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(cfg, 'dataDir: ./data\n');
  const cli = (args: string[], stdin?: string) => runCli([...args, '--config', cfg], { cwd: dir, stdin });
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', path.join(dir, 'id')]);

  const add = await cli(['user', 'add', 'alice', '--password-stdin'], 'Tr0ub4dor&3\n');
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /added user alice \(home .*data\/home\/alice\)/);
  const ro = await cli(['user', 'add', 'bob', '--key', path.join(dir, 'id.pub'), '--read-only', '--home', path.join(dir, 'bobhome')]);
  assert.equal(ro.code, 0, ro.stderr);

  const list = JSON.parse((await cli(['user', 'list', '--json'])).stdout) as { name: string; password: boolean; keys: number; permissions: string[]; home: string }[];
  assert.deepEqual(
    list.map((u) => [u.name, u.password, u.keys]),
    [
      ['alice', true, 0],
      ['bob', false, 1],
    ],
  );
  assert.deepEqual(list[1]!.permissions, ['list', 'download']);
  assert.equal(list[1]!.home, path.join(dir, 'bobhome'));
  assert.match((await cli(['user', 'list'])).stdout, /^NAME\s+PASSWORD\s+KEYS\s+MFA\s+ACCESS\s+HOME\nalice\s+yes\s+0\s+required, not enrolled\s+read-write/);
  // Each user's MFA state: required or optional, enrolled or not, locked.
  assert.deepEqual((list as unknown as { mfa: unknown }[])[0]!.mfa, { required: true, enrolled: 'no', lockedUntil: null });
  assert.equal((await cli(['user', 'set', 'bob', '--mfa', 'optional'])).code, 0);
  assert.match((await cli(['user', 'list'])).stdout, /\nbob\s+no\s+1\s+optional, not enrolled\s+read-only/);

  assert.equal((await cli(['user', 'passwd', 'alice', '--password-stdin'], 'n3w-pass\n')).code, 0);
  const keyAdd = await cli(['user', 'key', 'add', 'alice', path.join(dir, 'id.pub')]);
  assert.match(keyAdd.stdout, /added ssh-ed25519 key SHA256:\S+ for alice/);
  const keys = JSON.parse((await cli(['user', 'key', 'list', 'alice', '--json'])).stdout) as { fingerprint: string; comment: string }[];
  assert.equal(keys.length, 1);
  assert.equal(keys[0]!.comment, 'alice@laptop');
  const dupKey = await cli(['user', 'key', 'add', 'alice', path.join(dir, 'id.pub')]);
  assert.equal(dupKey.code, 1);
  assert.match(dupKey.stderr, /\[ERR_KEY_EXISTS\]/);
  assert.equal((await cli(['user', 'key', 'remove', 'alice', keys[0]!.fingerprint])).code, 0);
  assert.equal((JSON.parse((await cli(['user', 'key', 'list', 'alice', '--json'])).stdout) as unknown[]).length, 0);

  assert.equal((await cli(['user', 'remove', 'bob'])).code, 0);
  assert.deepEqual(
    (JSON.parse((await cli(['user', 'list', '--json'])).stdout) as { name: string }[]).map((u) => u.name),
    ['alice'],
  );

  // The audit trail records every change and never a password.
  const trail = await readFile(path.join(dir, 'data/audit/audit.jsonl'), 'utf8');
  const actions = trail
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { action: string; subject: string }))
    .map((e) => `${e.action} ${e.subject}`);
  assert.deepEqual(actions, ['added alice', 'added bob', 'key-added bob', 'policy-changed bob', 'password-changed alice', 'key-added alice', 'key-removed alice', 'removed bob']);
  assert.ok(!trail.includes('Tr0ub4dor') && !trail.includes('n3w-pass'));
  const db = await readFile(path.join(dir, 'data/portcullis.db'));
  assert.ok(!db.includes('Tr0ub4dor') && !db.includes('n3w-pass'), 'only hashes are stored');
});

test('bad input: one clear line and a non-zero exit', async (t) => {
  const dir = await makeTempDir(t);
  const cli = (args: string[], stdin?: string) => runCli(args, { cwd: dir, stdin });
  const cases: [string[], string | undefined, RegExp][] = [
    [['user', 'add', 'bad name', '--password-stdin'], 'pw', /user name is not valid.*\[ERR_USER_INVALID_NAME\]/],
    [['user', 'add', '-dash', '--password-stdin'], 'pw', /ERR_USER_INVALID_NAME|unknown option/],
    [['user', 'add', 'nokey'], undefined, /give --password-stdin or --key/],
    [['user', 'add', 'empty', '--password-stdin'], '', /no password on standard input/],
    [['user', 'add', 'k', '--key', '/nonexistent.pub'], undefined, /\/nonexistent\.pub: ENOENT \[ERR_KEY_INVALID\]/],
    [['user', 'remove', 'ghost'], undefined, /No such user: ghost \[ERR_USER_NOT_FOUND\]/],
    [['user', 'passwd', 'ghost', '--password-stdin'], 'x', /ERR_USER_NOT_FOUND/],
    [['user', 'frobnicate'], undefined, /unknown command/],
  ];
  for (const [args, stdin, pattern] of cases) {
    const r = await cli(args, stdin);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, pattern, args.join(' '));
  }
  // A private key given as a public key is refused with a hint.
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')]);
  const priv = await cli(['user', 'add', 'p', '--key', path.join(dir, 'k')]);
  assert.match(priv.stderr, /private key; give the \.pub file/);
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', path.join(dir, 'weak')]).catch(() => undefined);
  const weak = await cli(['user', 'add', 'w', '--key', path.join(dir, 'weak.pub')]);
  assert.notEqual(weak.code, 0);
  assert.equal((await cli(['--version'])).stdout.trim(), (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version);
});
