import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPortcullisError } from '../errors/index.ts';
import { configKeyPaths, envNameFor, loadConfig, parseConfig } from './load.ts';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isPortcullisError(err), String(err));
    return err.message;
  }
  assert.fail('expected a configuration error');
}

describe('defaults', () => {
  test('secure and as documented', () => {
    const c = parseConfig({});
    assert.equal(c.dataDir, './data');
    assert.deepEqual(c.sftp, { enabled: true, address: '0.0.0.0', port: 2222, legacyAlgorithms: [] });
    assert.equal(c.ftps.port, 2121);
    assert.equal(c.ftps.implicitPort, 2990);
    assert.equal(c.ftps.passivePorts, '50000-50100');
    assert.equal(c.ftps.allowPlaintext, false);
    assert.deepEqual({ address: c.metrics.address, port: c.metrics.port }, { address: '127.0.0.1', port: 7464 });
  });
});

describe('bad values name their key and the reason', () => {
  const cases: [string, unknown, RegExp][] = [
    ['port not a number', { sftp: { port: 'abc' } }, /sftp\.port: .*number.*"abc"/],
    ['port out of range', { sftp: { port: 70000 } }, /sftp\.port: must be a port number from 0 to 65535 \(got 70000\)/],
    ['negative port', { ftps: { implicitPort: -1 } }, /ftps\.implicitPort: must be a port/],
    ['fractional port', { metrics: { port: 80.5 } }, /metrics\.port:/],
    ['bad address', { sftp: { address: 'localhost:22' } }, /sftp\.address: must be an IPv4 or IPv6 address/],
    ['bad passive range', { ftps: { passivePorts: '60000-50000' } }, /ftps\.passivePorts: must be a port range/],
    ['privileged passive range', { ftps: { passivePorts: '20-30' } }, /ftps\.passivePorts:/],
    ['bad passive address', { ftps: { passiveAddress: 'example.com' } }, /ftps\.passiveAddress:/],
    ['unknown top-level key', { sftpp: {} }, /sftpp: unknown key/],
    ['unknown nested key', { ftps: { implicit: 990 } }, /ftps\.implicit: unknown key/],
    ['boolean as string', { ftps: { allowPlaintext: 'yes' } }, /ftps\.allowPlaintext: .*boolean/],
    ['limit over its ceiling', { limits: { maxConnections: 10_000_000 } }, /limits\.maxConnections: must be at most 65536 \(hard limit\)/],
    ['limit below its floor', { limits: { loginTimeoutMs: 10 } }, /limits\.loginTimeoutMs: must be at least 1000 ms/],
    ['bad log level', { log: { level: 'loud' } }, /log\.level:/],
    ['postgres without url', { store: { driver: 'postgres' } }, /store\.url: must be a postgres:\/\/ URL/],
    ['half a certificate', { tls: { keyFile: '/k.pem' } }, /tls\.certFile: certFile and keyFile must be set together/],
    ['empty data dir', { dataDir: '' }, /dataDir: must not be empty/],
    ['section not a mapping', { sftp: 5 }, /sftp:/],
    ['portal link over plain http', { portal: { publicUrl: 'http://files.example.com:7466' } }, /portal\.publicUrl: must be https:\/\//],
    ['portal link with a query', { portal: { publicUrl: 'https://files.example.com/?x=1' } }, /portal\.publicUrl: must be https:\/\//],
    ['portal link with credentials', { portal: { publicUrl: 'https://a:b@files.example.com' } }, /portal\.publicUrl:/],
    ['portal link not http(s)', { portal: { publicUrl: 'javascript:alert(1)' } }, /portal\.publicUrl:/],
  ];
  for (const [name, input, pattern] of cases) {
    test(name, () => assert.match(errorOf(() => parseConfig(input)), pattern));
  }
  test('several mistakes are all reported', () => {
    const msg = errorOf(() => parseConfig({ sftp: { port: -5 }, ftps: { port: 'x' } }));
    assert.match(msg, /sftp\.port/);
    assert.match(msg, /ftps\.port/);
  });
});

describe('files and environment', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'config-test-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('every key has an environment variable', () => {
    const names = configKeyPaths().map(envNameFor);
    assert.ok(names.includes('PORTCULLIS_SFTP__PORT'));
    assert.ok(names.includes('PORTCULLIS_FTPS__PASSIVE_ADDRESS'));
    assert.ok(names.includes('PORTCULLIS_DATA_DIR'));
    assert.equal(new Set(names).size, names.length);
  });

  test('environment overrides the file, typed by YAML rules', async () => {
    const file = path.join(dir, 'a.yaml');
    await writeFile(file, 'dataDir: ./d\nsftp:\n  port: 2200\n');
    const { config, fromEnv } = loadConfig({ file, env: { PORTCULLIS_SFTP__PORT: '2300', PORTCULLIS_FTPS__ENABLED: 'false', PORTCULLIS_FTPS__PASSIVE_ADDRESS: '203.0.113.9' }, cwd: dir });
    assert.equal(config.sftp.port, 2300);
    assert.equal(config.ftps.enabled, false);
    assert.equal(config.ftps.passiveAddress, '203.0.113.9');
    assert.equal(config.dataDir, path.join(dir, 'd'), 'relative to the config file');
    assert.deepEqual(fromEnv.sort(), ['ftps.enabled', 'ftps.passiveAddress', 'sftp.port']);
  });

  test('a bad environment value names the variable', () => {
    assert.match(
      errorOf(() => loadConfig({ env: { PORTCULLIS_SFTP__PORT: 'abc' }, cwd: dir })),
      /sftp\.port: .*\[from PORTCULLIS_SFTP__PORT\]/,
    );
    assert.match(errorOf(() => loadConfig({ env: { PORTCULLIS_SFTP_PORT: '1' }, cwd: dir })), /PORTCULLIS_SFTP_PORT: not a configuration key/);
  });

  test('unreadable and malformed files are named', async () => {
    assert.match(errorOf(() => loadConfig({ file: path.join(dir, 'missing.yaml'), env: {} })), /missing\.yaml: ENOENT/);
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'sftp: [unclosed\n');
    assert.match(errorOf(() => loadConfig({ file: bad, env: {} })), /bad\.yaml:/);
    const dup = path.join(dir, 'dup.yaml');
    await writeFile(dup, 'dataDir: a\ndataDir: b\n');
    assert.match(errorOf(() => loadConfig({ file: dup, env: {} })), /dup\.yaml:.*(unique|duplicate)/i);
    const list = path.join(dir, 'list.yaml');
    await writeFile(list, '- a\n- b\n');
    assert.match(errorOf(() => loadConfig({ file: list, env: {} })), /top level must be a mapping/);
  });

  test('./portcullis.yaml is read when present, else built-in defaults', async () => {
    assert.equal(loadConfig({ env: {}, cwd: dir }).file, null);
    await writeFile(path.join(dir, 'portcullis.yaml'), 'sftp: { port: 2400 }\n');
    const loaded = loadConfig({ env: {}, cwd: dir });
    assert.equal(loaded.file, path.join(dir, 'portcullis.yaml'));
    assert.equal(loaded.config.sftp.port, 2400);
  });
});

test('docs/configuration.md documents every key with its environment variable', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  for (const keyPath of configKeyPaths()) {
    const row = new RegExp(`^\\| \`${keyPath.join('\\.')}\` \\| \`${envNameFor(keyPath)}\` \\|`, 'm');
    assert.match(doc, row, `docs/configuration.md lacks a row for ${keyPath.join('.')}`);
  }
});

test('secrets are never echoed, neither in errors nor by config check', async () => {
  const msg = errorOf(() => loadConfig({ env: { PORTCULLIS_ALERTS__WEBHOOK__SECRET: 'short-s3cret' }, cwd: os.tmpdir() }));
  assert.match(msg, /alerts\.webhook\.secret/);
  assert.doesNotMatch(msg, /short-s3cret/);
  const { redactSecrets } = await import('./redact.ts');
  const shown = JSON.stringify(redactSecrets({ alerts: { webhook: { secret: 'x'.repeat(20), url: 'https://h' }, email: { password: 'pw' } } }));
  assert.doesNotMatch(shown, /xxxx|"pw"/);
  assert.match(shown, /https:\/\/h/);
  const url = JSON.stringify(redactSecrets({ store: { url: 'postgres://app:hunter2@db:5432/files' } }));
  assert.doesNotMatch(url, /hunter2/);
  assert.match(url, /postgres:\/\/app:\*\*\*@db:5432\/files/);
  // Numbers under secret-looking names are settings, not secrets (config check showed "***").
  const scores = redactSecrets({ defender: { scores: { wrongPassword: 5, unknownUser: 3 } }, mfa: { passwordAndCodeSeparator: '' } }) as { defender: { scores: { wrongPassword: unknown } } };
  assert.equal(scores.defender.scores.wrongPassword, 5);
});

test('portal.publicUrl: https anywhere, plain http only on this host', () => {
  assert.equal(parseConfig({ portal: { publicUrl: 'https://files.example.com:7466' } }).portal.publicUrl, 'https://files.example.com:7466');
  assert.equal(parseConfig({ portal: { publicUrl: 'http://127.0.0.1:7466' } }).portal.publicUrl, 'http://127.0.0.1:7466');
  assert.equal(parseConfig({ portal: { publicUrl: 'http://localhost:7466' } }).portal.publicUrl, 'http://localhost:7466');
});
