// Ban evasion over IPv6 (issue 14.14): one client controls at least a /64, so scores, bans,
// rate limits, per-address caps and the ban export count IPv6 per prefix (access.ipv6Prefix,
// default /64). The clients run in a network namespace of their own with several addresses of
// one /64 and one of another /64 (test/helpers/netns.ts): paramiko and raw sockets for SFTP,
// curl for FTPS.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.ts';
import { makeIpv6Net, type Ipv6Net } from '../helpers/netns.ts';
import { execFileAsync, startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'alice';
const PASSWORD = 'correct horse battery';
const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ipv6_client.py');

async function banners(net: Ipv6Net, s: TestServer, sources: string[]): Promise<string[]> {
  const r = await net.run('/usr/bin/python3', [CLIENT, 'banner', net.server, String(s.port('sftp')), ...sources]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

async function sshLogin(net: Ipv6Net, s: TestServer, from: string, user: string, password: string): Promise<string> {
  const r = await net.run('/usr/bin/python3', [CLIENT, 'login', net.server, String(s.port('sftp')), from, user, password]);
  return r.stdout.trim() || r.stderr;
}

async function ftpsLogin(net: Ipv6Net, s: TestServer, from: string, user: string, password: string): Promise<boolean> {
  const r = await net.run('curl', ['-sS', '--ssl-reqd', '-k', '--interface', from, '--max-time', '15', '-u', `${user}:${password}`, `ftp://[${net.server}]:${s.port('ftps (explicit)')}/`, '-l']);
  return r.code === 0;
}

const listenOn = (net: Ipv6Net) => ({ sftp: { address: net.server }, ftps: { address: net.server } });

test('guesses spread over the addresses of one /64 ban the whole /64 (SFTP and FTPS), not the next /64; the export carries the prefix', { timeout: 180_000 }, async (t) => {
  const net = await makeIpv6Net(t);
  const s = await startTestServer(t, { ...listenOn(net), defender: { enabled: true, threshold: 6 } });
  await s.addUser(USER, { password: PASSWORD });
  const [a, b, c, d, e] = net.samePrefix as [string, string, string, string, string];
  // One unknown-user guess (2 points) from each of three addresses: no single address reaches 6.
  assert.match(await sshLogin(net, s, a, 'nobody1', 'x'), /^failed/);
  assert.equal(await ftpsLogin(net, s, b, 'nobody2', 'x'), false);
  assert.match(await sshLogin(net, s, c, 'nobody3', 'x'), /^failed/);
  await new Promise((r) => setTimeout(r, 200)); // the ban is written to the store
  const [fromD, fromE, fromOther] = await banners(net, s, [d, e, net.otherPrefix]);
  assert.equal(fromD, '', 'an address of the /64 never used before gets no banner');
  assert.equal(fromE, '');
  assert.match(fromOther!, /^SSH-2\.0-/, 'the next /64 is not banned');
  assert.equal(await sshLogin(net, s, net.otherPrefix, USER, PASSWORD), 'ok');

  const env = { PORTCULLIS_DATA_DIR: s.dataDir };
  const listed = JSON.parse((await runCli(['ban', 'list', '--json'], { env })).stdout) as { address: string }[];
  assert.deepEqual(
    listed.map((x) => x.address),
    ['fd00:64::/64'],
  );
  const nft = (await runCli(['ban', 'export', '--format', 'nft'], { env })).stdout;
  assert.match(nft, /fd00:64::\/64 timeout \d+s/);
  const file = path.join(s.dataDir, 'bans.nft');
  await writeFile(file, nft);
  await execFileAsync('nft', ['-c', '-f', file]);

  // Lifting by any address of the prefix lifts the prefix.
  const lifted = await runCli(['ban', 'remove', d], { env });
  assert.equal(lifted.code, 0, lifted.stderr);
  await s.server.core.access.refresh(true);
  assert.match((await banners(net, s, [a]))[0]!, /^SSH-2\.0-/);
});

test('the per-address connection cap and the connection rate count a /64 as one address', { timeout: 120_000 }, async (t) => {
  const net = await makeIpv6Net(t);
  const s = await startTestServer(t, { ...listenOn(net), limits: { maxConnectionsPerAddress: 3 } });
  const [a, b, c, d] = net.samePrefix as [string, string, string, string];
  // Three connections held from three addresses of the /64.
  const holder = spawn(net.prefix[0]!, [...net.prefix.slice(1), '/usr/bin/python3', CLIENT, 'hold', net.server, String(s.port('sftp')), a, b, c], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    holder.on('exit', () => reject(new Error('holder exited')));
  });
  const [fromD, fromOther] = await banners(net, s, [d, net.otherPrefix]);
  assert.equal(fromD, '', 'a fourth address of the same /64 is over the cap');
  assert.match(fromOther!, /^SSH-2\.0-/);
  await s.server.core.trail?.flush();
  const refused = await s.server.core.store.audit.search({ eventPrefix: 'conn.refused' });
  assert.ok(refused.some((r) => 'code' in r && r.code === 'ERR_ADMISSION_TOO_MANY_FROM_ADDRESS' && r.remoteAddress === d));
  holder.stdin.end();

  // Rate: 2 per second and no burst for the /64, whatever address each connection comes from.
  const limited = await startTestServer(t, { ...listenOn(net), rateLimits: { connectionsPerSecond: 2, connectionBurst: 0 } });
  const got = await banners(net, limited, net.samePrefix);
  const admitted = got.filter((x) => x.startsWith('SSH-')).length;
  assert.ok(admitted >= 2 && admitted <= 4, `admitted ${admitted} of ${got.length} from one /64`);
});
