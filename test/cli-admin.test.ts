// `portcullis admin token …` through the real CLI: the secret printed once (stdout only), never
// listed, never in the trail or the database; bad input is one clear line.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.ts';
import { makeTempDir } from './helpers/server.ts';

test('admin token create / list / revoke', async (t) => {
  const dir = await makeTempDir(t);
  await writeFile(path.join(dir, 'p.yaml'), 'dataDir: ./data\n');
  const cli = (args: string[]) => runCli([...args, '--config', path.join(dir, 'p.yaml')], { cwd: dir });

  const created = await cli(['admin', 'token', 'create', 'ci', '--scope', 'users:read,bans:write', '--expires', '30', '--from', '10.0.0.0/8,192.0.2.7']);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^pct_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.match(created.stderr, /token ci \([0-9a-f]{16}\) created with users:read,bans:write, expires \S+, from 10\.0\.0\.0\/8,192\.0\.2\.7\/32: store it now, it is not shown again/);
  assert.equal((await stat(path.join(dir, 'data', 'api-token.key'))).mode & 0o777, 0o600);

  const list = JSON.parse((await cli(['admin', 'token', 'list', '--json'])).stdout) as { name: string; scopes: string[]; sources: string[]; revokedAt: string | null }[];
  assert.deepEqual(list.map((x) => [x.name, x.scopes, x.sources, x.revokedAt]), [['ci', ['users:read', 'bans:write'], ['10.0.0.0/8', '192.0.2.7/32'], null]]);
  const table = (await cli(['admin', 'token', 'list'])).stdout;
  assert.match(table, /^NAME\s+ID\s+SCOPES\s+FROM\s+EXPIRES\s+STATE\s+LAST USED\nci\s+[0-9a-f]{16}\s+users:read,bans:write\s+10\.0\.0\.0\/8,192\.0\.2\.7\/32\s+\S+\s+active\s+-/);
  assert.equal((await cli(['admin', 'token', 'create', 'ci', '--scope', 'users:read'])).code, 1, 'one active token per name');
  assert.match((await cli(['admin', 'token', 'revoke', 'ci'])).stdout, /^token ci \([0-9a-f]{16}\) revoked$/m);
  assert.match((await cli(['admin', 'token', 'list'])).stdout, /\sci\s.*revoked /);
  assert.equal((await cli(['admin', 'token', 'create', 'ci', '--scope', 'users:read'])).code, 0, 'the name is free again');

  const bad: [string[], RegExp][] = [
    [['admin', 'token', 'create', 'x', '--scope', 'users:all'], /unknown scope "users:all".*\[ERR_TOKEN_INVALID\]/],
    [['admin', 'token', 'create', 'x', '--scope', ''], /at least one scope.*\[ERR_TOKEN_INVALID\]/],
    [['admin', 'token', 'create', 'x y', '--scope', 'users:read'], /a token name has.*\[ERR_TOKEN_INVALID\]/],
    [['admin', 'token', 'create', 'x', '--scope', 'users:read', '--expires', '0'], /--expires must be.*\[ERR_TOKEN_INVALID\]/],
    [['admin', 'token', 'create', 'x', '--scope', 'users:read', '--from', '10.0.0.0/33'], /\[ERR_POLICY_INVALID_RULE\]/],
    [['admin', 'token', 'revoke', 'nope'], /\[ERR_TOKEN_NOT_FOUND\]/],
  ];
  for (const [args, re] of bad) {
    const r = await cli(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }

  const trail = await readFile(path.join(dir, 'data', 'audit', 'audit.jsonl'), 'utf8');
  assert.deepEqual(
    trail.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event),
    ['admin.token.created', 'admin.token.revoked', 'admin.token.created'],
  );
  const secret = token.slice(22);
  assert.ok(!trail.includes(secret), 'the secret is not in the trail');
  assert.ok(!(await readFile(path.join(dir, 'data', 'portcullis.db'))).includes(secret), 'nor in the database');
});
