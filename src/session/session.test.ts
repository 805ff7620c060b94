// Each Session operation: allowed and denied, one audit event each, and the disk checked
// afterwards (not only the reply), as OpenSSH's regress/sftp-perm.sh does.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Audit } from '../audit/audit.ts';
import type { AuditRecord } from '../audit/events.ts';
import { isPortcullisError, reportInternal, type PortcullisError } from '../errors/index.ts';
import { STATUS } from '../protocols/sftp/constants.ts';
import { statusForError } from '../protocols/sftp/status.ts';
import type { Vfs } from '../vfs/vfs.ts';
import type { ConnectionContext } from '../net/connection.ts';
import type { User } from '../store/user-repository.ts';
import { LocalVfs } from '../vfs/local.ts';
import { ALL_PERMISSIONS, READ_ONLY_PERMISSIONS, type Permission } from './permissions.ts';
import { Session } from './session.ts';

let dir: string;
const audit = new Audit();
const events: AuditRecord[] = [];
audit.subscribe((r) => events.push(r));
const ctx: ConnectionContext = { id: 'c1', protocol: 'ftps', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, startedAt: Date.now() };

async function sessionFor(name: string, permissions: readonly Permission[]): Promise<{ s: Session; home: string }> {
  const home = path.join(dir, name);
  const user: User = { id: 1, name, passwordHash: null, home, permissions: [...permissions], disabled: false, createdAt: '', updatedAt: '', allowedCidrs: [], deniedCidrs: [], accessHours: '', maxSessions: 0, mfaRequired: null, clientCertPins: [] };
  const vfs = await LocalVfs.open(home);
  await writeFile(path.join(home, 'existing.txt'), 'original');
  return { s: new Session(`s-${name}`, user, ctx, vfs, audit), home };
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'session-test-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isPortcullisError(e) ? e.code : String(e);
  }
}

describe('a read-only user', () => {
  test('can list and download, and nothing else changes the disk', async () => {
    const { s, home } = await sessionFor('ro', READ_ONLY_PERMISSIONS);
    const names: string[] = [];
    for await (const e of s.list('/')) names.push(e.name);
    assert.deepEqual(names, ['existing.txt']);
    const d = await s.openRead('/existing.txt');
    const buf = Buffer.alloc(20);
    assert.equal(await d.read(buf, 0, 20, 0), 8);
    await d.finish(true);

    const denied = await Promise.all([
      code(s.openWrite('/new.txt', 'truncate')),
      code(s.openWrite('/existing.txt', 'truncate')),
      code(s.mkdir('/dir')),
      code(s.remove('/existing.txt')),
      code(s.rename('/existing.txt', '/moved.txt', { overwrite: false })),
      code(s.setAttributes('/existing.txt', { size: 0 })),
      code(s.symlink('/existing.txt', '/link')),
      code(s.link('/existing.txt', '/hard')),
    ]);
    assert.deepEqual(new Set(denied), new Set(['ERR_PERMISSION_DENIED']));
    assert.equal(await readFile(path.join(home, 'existing.txt'), 'utf8'), 'original');
    for (const n of ['new.txt', 'dir', 'moved.txt', 'link', 'hard']) assert.ok(!existsSync(path.join(home, n)), n);
  });
});

describe('a user without overwrite', () => {
  test('can upload new files but not replace or truncate existing ones', async () => {
    const { s, home } = await sessionFor('noover', ALL_PERMISSIONS.filter((p) => p !== 'overwrite'));
    const u = await s.openWrite('/fresh.txt', 'truncate');
    await u.write(Buffer.from('data'), 0);
    await u.commit();
    assert.equal(await readFile(path.join(home, 'fresh.txt'), 'utf8'), 'data');
    assert.equal(await code(s.openWrite('/existing.txt', 'truncate')), 'ERR_PERMISSION_DENIED');
    assert.equal(await code(s.setAttributes('/existing.txt', { size: 0 })), 'ERR_PERMISSION_DENIED');
    assert.equal(await code(s.rename('/fresh.txt', '/existing.txt', { overwrite: true })), 'ERR_PERMISSION_DENIED');
    assert.equal(await readFile(path.join(home, 'existing.txt'), 'utf8'), 'original');
  });
});

describe('a full user', () => {
  test('every operation emits exactly one audit event', async () => {
    const { s } = await sessionFor('full', ALL_PERMISSIONS);
    const ops: [string, () => Promise<unknown>][] = [
      ['file.mkdir.completed', () => s.mkdir('/d')],
      ['file.stat.completed', () => s.stat('/d')],
      ['file.rename.completed', () => s.rename('/d', '/e', { overwrite: false })],
      ['file.rmdir.completed', () => s.rmdir('/e')],
      ['file.symlink.completed', () => s.symlink('existing.txt', '/l')],
      ['file.readlink.completed', () => s.readlink('/l')],
      ['file.realpath.completed', () => s.realpath('/l')],
      ['file.remove.completed', () => s.remove('/l')],
      ['file.setstat.completed', () => s.setAttributes('/existing.txt', { mode: 0o600 })],
      ['file.statvfs.completed', () => s.statvfs('/')],
      ['file.remove.failed', () => s.remove('/missing').catch(() => undefined)],
      [
        'file.upload.completed',
        async () => {
          const u = await s.openWrite('/up.txt', 'truncate');
          await u.write(Buffer.from('abc'), 0);
          await u.commit();
        },
      ],
      [
        'file.upload.failed',
        async () => {
          const u = await s.openWrite('/up2.txt', 'truncate');
          await u.abort();
        },
      ],
      [
        'file.download.completed',
        async () => {
          const d = await s.openRead('/up.txt');
          await d.finish(true);
        },
      ],
    ];
    for (const [expected, op] of ops) {
      events.length = 0;
      await op();
      assert.deepEqual(
        events.map((e) => e.event),
        [expected],
      );
    }
  });

  test('a streamed upload records its size and SHA-256', async () => {
    const { s } = await sessionFor('hash', ALL_PERMISSIONS);
    events.length = 0;
    const u = await s.openWrite('/h.txt', 'truncate');
    const w = u.createWriteStream(0);
    await new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.write(Buffer.from('hello '));
      w.end(Buffer.from('world'), () => resolve());
    });
    await u.commit();
    const ev = events.find((e) => e.event === 'file.upload.completed');
    assert.ok(ev && 'sha256' in ev);
    assert.equal(ev.sha256, 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
    assert.equal(ev.bytes, 11);
  });

  test('closing the session aborts unfinished uploads', async () => {
    const { s, home } = await sessionFor('closing', ALL_PERMISSIONS);
    const u = await s.openWrite('/half.bin', 'truncate');
    await u.write(Buffer.alloc(4096), 0);
    await s.close();
    assert.ok(!existsSync(path.join(home, 'half.bin')));
    assert.equal(await code(s.stat('/existing.txt')), 'ERR_SESSION_CLOSED');
  });
});

void test('a bug in the storage (an Error with no errno) is ERR_INTERNAL, audited, and logged once with the connection id and stack', async () => {
  const user: User = { id: 9, name: 'bug', passwordHash: null, home: '/nowhere', permissions: [...ALL_PERMISSIONS], disabled: false, createdAt: '', updatedAt: '', allowedCidrs: [], deniedCidrs: [], accessHours: '', maxSessions: 0, mfaRequired: null, clientCertPins: [] };
  const broken = new Proxy({} as Vfs, {
    get: () => () => {
      throw new TypeError("Cannot read properties of undefined (reading 'size')");
    },
  });
  const logged: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = { error: (obj: object, msg: string) => void logged.push({ obj: obj as Record<string, unknown>, msg }) };
  const s = new Session('s-bug', user, ctx, broken, audit, logger);
  const before = events.length;
  await assert.rejects(s.stat('/x'), (e: unknown) => isPortcullisError(e, 'ERR_INTERNAL'));
  const failed = events.slice(before).find((e) => e.type === 'file.operation');
  assert.equal(failed && 'code' in failed ? failed.code : undefined, 'ERR_INTERNAL');
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.obj.connectionId, 'c1');
  assert.match(String(logged[0]!.obj.stack), /TypeError: Cannot read properties/);
  // the adapter maps the same error again: it is not logged twice
  const err = await s.stat('/y').catch((e: unknown) => e as PortcullisError);
  assert.equal(logged.length, 2);
  reportInternal(err as PortcullisError, logger, { connectionId: 'c1' });
  assert.equal(logged.length, 2);
  // and the client sees only the generic text
  assert.equal(statusForError(err).message, 'Internal server error');
  assert.equal(statusForError(err).code, STATUS.FAILURE);
});
