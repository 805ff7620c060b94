// A scripted scenario with real clients (curl over FTPS), then a scrape of /metrics: the
// counters must show exactly what happened.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, USER, randomFile, requireBinary, run, startFtps } from '../ftps/helpers.ts';
import { scrape, waitFor } from './helpers.ts';

test('metrics after a scripted FTPS scenario', async (t) => {
  await requireBinary(t, 'curl', 'apt-get install -y curl');
  const f = await startFtps(t);
  const server = f.srv.server;
  const base = `ftp://127.0.0.1:${f.explicitPort}`;
  const common = ['-sS', '--fail', '--cacert', f.caFile, '--ssl-reqd'];
  const file = await randomFile(f.work, 'data.bin', 100_000);

  const up = await run('curl', [...common, '-u', `${USER}:${PASSWORD}`, '-T', file.file, `${base}/data.bin`]);
  assert.equal(up.code, 0, up.stderr);
  const down = await run('curl', [...common, '-u', `${USER}:${PASSWORD}`, '-o', `${f.work}/copy.bin`, `${base}/data.bin`]);
  assert.equal(down.code, 0, down.stderr);
  const bad = await run('curl', [...common, '-u', `${USER}:wrong password`, `${base}/`]);
  assert.notEqual(bad.code, 0);
  await server.core.access.defender.ban('203.0.113.9', 'test', 'cli', 5);
  await waitFor('all connections to close', () => server.core.admission.connectionCount === 0);

  const { values, text, contentType } = await scrape(server);
  assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
  const expected: Record<string, number> = {
    'portcullis_connections_total{protocol="ftps"}': 3,
    'portcullis_connections_active': 0,
    'portcullis_sessions_active': 0,
    'portcullis_authentications_total{method="password",outcome="success",protocol="ftps"}': 2,
    'portcullis_authentications_total{method="password",outcome="failure",protocol="ftps"}': 1,
    'portcullis_errors_total{code="ERR_AUTH_FAILED"}': 1,
    'portcullis_bans_added_total{source="cli"}': 1,
    'portcullis_bans_active': 1,
    'portcullis_transfer_bytes_total{direction="in",protocol="ftps"}': 100_000,
    'portcullis_transfer_bytes_total{direction="out",protocol="ftps"}': 100_000,
    'portcullis_transfers_total{direction="in",outcome="completed",protocol="ftps"}': 1,
    'portcullis_transfers_total{direction="out",outcome="completed",protocol="ftps"}': 1,
    'portcullis_transfer_duration_seconds_count{direction="in",protocol="ftps"}': 1,
    'portcullis_transfer_duration_seconds_count{direction="out",protocol="ftps"}': 1,
    'portcullis_file_operations_total{op="upload",outcome="completed",protocol="ftps"}': 1,
  };
  for (const [key, value] of Object.entries(expected)) assert.equal(values.get(key), value, `${key} in\n${text}`);
  assert.equal(values.get('portcullis_mfa_failures_total') ?? 0, 0);
  for (const name of values.keys()) assert.match(name, /^portcullis_/);
  assert.ok(!text.includes(USER), 'no user names in labels');
  assert.ok(!text.includes('127.0.0.1'), 'no addresses in labels');

  // /healthz and /readyz stay on the same listener.
  assert.equal((await fetch(`http://127.0.0.1:${server.health!.port}/healthz`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${server.health!.port}/readyz`)).status, 200);
});
