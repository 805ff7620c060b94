// FTPS second factor by TLS client certificate + password, with curl: a pinned certificate,
// a certificate from the configured client CA naming the user, and the attacks on both.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { execFileAsync, makeTempDir } from '../helpers/server.ts';
import { PASSWORD, startMfaServer, USER } from './helpers.ts';

async function openssl(args: string[]): Promise<void> {
  await execFileAsync('openssl', args);
}

async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert]);
  return { cert, key };
}

async function caSigned(dir: string, ca: { cert: string; key: string }, name: string): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}-ca.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}-ca.crt`);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-out', cert]);
  return { cert, key };
}

test('client certificate + password logs in over FTPS; password alone or a stranger certificate do not', { timeout: 120_000 }, async (t) => {
  const dir = await makeTempDir(t);
  const ca = await selfSigned(dir, 'clients-ca');
  const f = await startMfaServer(t, { mfa: { clientCaFile: ca.cert } });
  const caFile = path.join(f.srv.dataDir, 'tls', 'cert.pem');
  const curl = (pass: string, cert?: { cert: string; key: string }) =>
    execFileAsync('curl', ['-sS', '--ssl-reqd', '--cacert', caFile, ...(cert ? ['--cert', cert.cert, '--key', cert.key] : []), '-u', `${USER}:${pass}`, `ftp://127.0.0.1:${f.srv.port('ftps (explicit)')}/`, '-l']).then(
      () => true,
      () => false,
    );

  // Pinned by fingerprint through the CLI.
  const pinned = await selfSigned(dir, 'alice-laptop');
  const add = await runCli(['user', 'cert', 'add', USER, pinned.cert], { env: { PORTCULLIS_DATA_DIR: f.srv.dataDir } });
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /pinned certificate SHA256 ([0-9A-F]{2}:){31}[0-9A-F]{2} to alice/);
  assert.equal(await curl(PASSWORD, pinned), true, 'pinned certificate + password');
  assert.equal(await curl('wrong', pinned), false, 'pinned certificate + wrong password');
  assert.equal(await curl(PASSWORD), false, 'password alone');
  const stranger = await selfSigned(dir, 'alice'); // names alice, but neither pinned nor CA-signed
  assert.equal(await curl(PASSWORD, stranger), false, 'an unpinned self-signed certificate naming the user');

  // Signed by the configured client CA and naming the user.
  assert.equal(await curl(PASSWORD, await caSigned(dir, ca, USER)), true, 'CA-signed certificate naming alice');
  assert.equal(await curl(PASSWORD, await caSigned(dir, ca, 'mallory')), false, 'CA-signed certificate naming someone else');
  // The code path still works alongside.
  assert.equal(await curl(`${PASSWORD}${await f.code()}`), true);
});
