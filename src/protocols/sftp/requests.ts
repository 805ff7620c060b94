// The SFTP v3 request table and the OpenSSH extensions: one row per request type, each handler
// parsing every field with checked reads, calling one Session method and replying once.
import { LIMITS } from '../../config/limits.ts';
import { PortcullisError } from '../../errors/index.ts';
import type { VfsDirEntry, WriteMode } from '../../vfs/vfs.ts';
import { encodeAttrs, formatLongname, parseAttrs, type ParsedAttrs } from './attrs.ts';
import { extensionsFor, FXP, OPEN_FLAGS, STATUS } from './constants.ts';
import { acquireBuffer, releaseBuffer } from './buffer-pool.ts';
import { DATA_HEADER_BYTES } from './constants.ts';
import { PacketWriter } from './packet.ts';
import { StatusReply, WRITE_PERMISSIONS, type FileHandle, type Handle, type RequestDef } from './request-types.ts';
import type { SftpServer } from './sftp-server.ts';

const READDIR_BATCH = LIMITS.sftpReaddirBatchEntries;
const READDIR_SOFT_BYTES = LIMITS.sftpReaddirSoftBytes;

/** Does `target`, read relative to `linkDir` without clamping at "/", climb above the home? */
export function climbsAboveHome(target: string, linkDir: string): boolean {
  const unified = target.replace(/\\/g, '/');
  let depth = unified.startsWith('/') ? 0 : linkDir.split('/').filter((s) => s !== '' && s !== '.').length;
  for (const seg of unified.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      depth -= 1;
      if (depth < 0) return true;
    } else depth += 1;
  }
  return false;
}

// --- the request table ---

function openMode(pflags: number): WriteMode {
  if (pflags & OPEN_FLAGS.EXCL && pflags & OPEN_FLAGS.CREAT) return 'exclusive';
  if (pflags & OPEN_FLAGS.TRUNC) return 'truncate';
  if (pflags & OPEN_FLAGS.APPEND) return 'append';
  return 'keep';
}

async function applyHandleAttrs(server: SftpServer, h: FileHandle, attrs: ParsedAttrs): Promise<void> {
  const { ownerRequested: _owner, ...rest } = attrs; // ownership never changes (documented)
  if (rest.size === undefined && rest.mode === undefined && rest.atime === undefined && rest.mtime === undefined) return;
  if (h.kind === 'write') {
    if (!server.session.can('setstat')) throw new PortcullisError('ERR_PERMISSION_DENIED', 'needs the setstat permission');
    await h.upload.file.setAttributes(rest);
  } else {
    await server.session.setAttributes(h.path, rest);
  }
}

/** A handler that runs against one handle and keeps it from closing under its feet. */
async function withHandle<T>(h: Handle, fn: () => Promise<T>): Promise<T> {
  h.inflight += 1;
  try {
    return await fn();
  } finally {
    h.inflight -= 1;
  }
}

const DATA_HEADER = DATA_HEADER_BYTES;

export const REQUESTS: Partial<Record<number, RequestDef>> = {
  [FXP.OPEN]: {
    name: 'open',
    writes: false, // decided by the open flags below
    parallel: false,
    async run({ id, reader }) {
      const path = reader.text('filename');
      const pflags = reader.u32('pflags');
      const attrs = parseAttrs(reader);
      if (!(pflags & (OPEN_FLAGS.READ | OPEN_FLAGS.WRITE))) throw new StatusReply(STATUS.FAILURE, 'Open needs READ or WRITE');
      if (!(pflags & OPEN_FLAGS.WRITE)) {
        const download = await this.session.openRead(path);
        try {
          return this.handleReply(id, { kind: 'read', path: download.path, download, inflight: 0 });
        } catch (err) {
          await download.finish(false);
          throw err;
        }
      }
      if (!(pflags & OPEN_FLAGS.CREAT)) await this.session.stat(path); // must exist
      const mode = openMode(pflags);
      // The requested permission bits apply to a file that starts empty (quirk 9: bits only).
      const createMode = attrs.mode !== undefined && mode !== 'keep' && mode !== 'append' ? attrs.mode & 0o777 : undefined;
      const upload = await this.session.openWrite(path, mode, createMode);
      try {
        return this.handleReply(id, { kind: 'write', path: upload.path, upload, inflight: 0 });
      } catch (err) {
        await upload.abort();
        throw err;
      }
    },
  },
  [FXP.CLOSE]: {
    name: 'close',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const { key, handle } = this.readHandle(reader.bytes('handle'));
      this.closeHandle(key);
      if (handle.kind === 'write') await handle.upload.commit();
      else if (handle.kind === 'read') await handle.download.finish(true);
      else await handle.iterator.return?.();
      return this.ok(id);
    },
  },
  [FXP.READ]: {
    name: 'read',
    writes: false,
    parallel: true,
    async run({ id, reader }) {
      // Parse every field first: a malformed packet is malformed whatever its handle.
      const raw = reader.bytes('handle');
      const offset = reader.u64('offset');
      const len = Math.min(reader.u32('length'), this.limits.maxReadWriteBytes);
      const { handle } = this.fileHandle(raw);
      const source = handle.kind === 'read' ? handle.download : null;
      // The file is read straight into the reply buffer (a reused one: buffer-pool.ts).
      const out = acquireBuffer(DATA_HEADER + len);
      let n: number;
      try {
        n = await withHandle(handle, () => (source ? source.read(out, DATA_HEADER, len, offset) : handle.kind === 'write' ? handle.upload.file.read(out, DATA_HEADER, len, offset) : Promise.resolve(0)));
      } catch (err) {
        releaseBuffer(out);
        throw err;
      }
      if (n === 0) {
        releaseBuffer(out);
        return this.status(id, STATUS.EOF, 'End of file');
      }
      // SECURITY: the buffer may be a reused one: only the header and the n bytes just read
      // are sent, never what an earlier READ left beyond them.
      out.writeUInt32BE(DATA_HEADER - 4 + n, 0);
      out[4] = FXP.DATA;
      out.writeUInt32BE(id >>> 0, 5);
      out.writeUInt32BE(n, 9);
      return out.subarray(0, DATA_HEADER + n);
    },
  },
  [FXP.WRITE]: {
    name: 'write',
    writes: true,
    parallel: true,
    async run({ id, reader }) {
      const raw = reader.bytes('handle');
      const offset = reader.u64('offset');
      const data = reader.bytes('data');
      const { handle } = this.fileHandle(raw);
      if (data.length > this.limits.maxReadWriteBytes) throw new StatusReply(STATUS.FAILURE, `Write larger than ${this.limits.maxReadWriteBytes} bytes`);
      if (handle.kind !== 'write') throw new StatusReply(STATUS.PERMISSION_DENIED, 'Handle not open for writing');
      await withHandle(handle, async () => {
        let done = 0;
        while (done < data.length) done += await handle.upload.write(data.subarray(done), offset + done);
      });
      return this.ok(id);
    },
  },
  [FXP.LSTAT]: {
    name: 'lstat',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const st = await this.session.lstat(reader.text('path'));
      return encodeAttrs(new PacketWriter(FXP.ATTRS, id), st).finish();
    },
  },
  [FXP.STAT]: {
    name: 'stat',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const st = await this.session.stat(reader.text('path'));
      return encodeAttrs(new PacketWriter(FXP.ATTRS, id), st).finish();
    },
  },
  [FXP.FSTAT]: {
    name: 'fstat',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const { handle } = this.readHandle(reader.bytes('handle'));
      const st = handle.kind === 'read' ? await handle.download.file.stat() : handle.kind === 'write' ? await handle.upload.file.stat() : await this.session.stat(handle.path);
      return encodeAttrs(new PacketWriter(FXP.ATTRS, id), st).finish();
    },
  },
  [FXP.SETSTAT]: {
    name: 'setstat',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const path = reader.text('path');
      const { ownerRequested: _owner, ...attrs } = parseAttrs(reader);
      if (attrs.size !== undefined || attrs.mode !== undefined || attrs.atime !== undefined || attrs.mtime !== undefined) await this.session.setAttributes(path, attrs);
      return this.ok(id);
    },
  },
  [FXP.FSETSTAT]: {
    name: 'fsetstat',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const raw = reader.bytes('handle');
      const attrs = parseAttrs(reader);
      await applyHandleAttrs(this, this.fileHandle(raw).handle, attrs);
      return this.ok(id);
    },
  },
  [FXP.OPENDIR]: {
    name: 'opendir',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const path = this.session.resolvePath(reader.text('path'));
      const iterator = this.session.list(path)[Symbol.asyncIterator]();
      const first = await iterator.next(); // errors (missing, not a directory) surface here
      return this.handleReply(id, { kind: 'dir', path, iterator, pending: first.done ? undefined : first.value, done: first.done === true, inflight: 0 });
    },
  },
  [FXP.READDIR]: {
    name: 'readdir',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const { handle } = this.readHandle(reader.bytes('handle'));
      if (handle.kind !== 'dir') throw new StatusReply(STATUS.FAILURE, 'Not a directory handle');
      const entries: VfsDirEntry[] = [];
      let bytes = 0;
      if (handle.pending) {
        entries.push(handle.pending);
        handle.pending = undefined;
      }
      while (!handle.done && entries.length < READDIR_BATCH && bytes < READDIR_SOFT_BYTES) {
        const next = await handle.iterator.next();
        if (next.done) handle.done = true;
        else {
          entries.push(next.value);
          bytes += 2 * Buffer.byteLength(next.value.name) + 96;
        }
      }
      if (entries.length === 0) return this.status(id, STATUS.EOF, 'End of directory');
      const owner = this.session.user.name;
      return this.name(
        id,
        entries.map((e) => ({ name: e.name, longname: formatLongname(e.name, e.stat, owner), attrs: e.stat })),
      );
    },
  },
  [FXP.REMOVE]: {
    name: 'remove',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      await this.session.remove(reader.text('filename'));
      return this.ok(id);
    },
  },
  [FXP.MKDIR]: {
    name: 'mkdir',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const path = reader.text('path');
      parseAttrs(reader); // mode is ours (0755), as the home's policy decides
      await this.session.mkdir(path);
      return this.ok(id);
    },
  },
  [FXP.RMDIR]: {
    name: 'rmdir',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      await this.session.rmdir(reader.text('path'));
      return this.ok(id);
    },
  },
  [FXP.REALPATH]: {
    name: 'realpath',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      // Quirk 10: realpath(".") is the home, "/" in our virtual namespace.
      const real = await this.session.realpath(reader.text('path') || '.');
      return this.name(id, [{ name: real, longname: real }]);
    },
  },
  [FXP.RENAME]: {
    name: 'rename',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      const from = reader.text('oldpath');
      const to = reader.text('newpath');
      // v3 RENAME does not replace an existing target (posix-rename does).
      await this.session.rename(from, to, { overwrite: false });
      return this.ok(id);
    },
  },
  [FXP.READLINK]: {
    name: 'readlink',
    writes: false,
    parallel: false,
    async run({ id, reader }) {
      const target = await this.session.readlink(reader.text('path'));
      return this.name(id, [{ name: target, longname: target }]);
    },
  },
  [FXP.SYMLINK]: {
    name: 'symlink',
    writes: true,
    parallel: false,
    async run({ id, reader }) {
      // Quirk 11: OpenSSH and paramiko send (target, link), the reverse of the draft.
      const first = reader.text('path');
      const second = reader.text('path');
      const [target, linkInput] = this.symlinkOrder === 'draft' ? [second, first] : [first, second];
      const link = this.session.resolvePath(linkInput);
      // SECURITY: a target that climbs above the home is refused outright rather than
      // silently clamped into it (the Vfs re-checks every use of the link as well).
      if (climbsAboveHome(target, link.slice(0, link.lastIndexOf('/')) || '/')) throw new PortcullisError('ERR_VFS_ESCAPE', 'symlink target outside the home');
      await this.session.symlink(target, link);
      return this.ok(id);
    },
  },
  [FXP.EXTENDED]: {
    name: 'extended',
    writes: false, // decided per extension
    parallel: false,
    async run(req) {
      const name = req.reader.bytes('extension name').toString('latin1');
      // Default deny: an extension the storage cannot serve is not advertised, nor run.
      const ext = extensionsFor(this.session.capabilities).has(name) ? EXTENDED_REQUESTS[name] : undefined;
      if (!ext) return this.status(req.id, STATUS.OP_UNSUPPORTED, `Extension ${name.slice(0, 64)} is not supported`);
      if (ext.writes && !WRITE_PERMISSIONS.some((p) => this.session.can(p))) return this.status(req.id, STATUS.PERMISSION_DENIED, 'This account is read-only');
      return ext.run.call(this, req);
    },
  },
};

const EXTENDED_REQUESTS: Record<string, Omit<RequestDef, 'parallel'>> = {
  'posix-rename@openssh.com': {
    name: 'posix-rename',
    writes: true,
    async run({ id, reader }) {
      const from = reader.text('oldpath');
      const to = reader.text('newpath');
      await this.session.rename(from, to, { overwrite: true });
      return this.ok(id);
    },
  },
  'statvfs@openssh.com': {
    name: 'statvfs',
    writes: false,
    async run({ id, reader }) {
      return this.statvfsReply(id, await this.session.statvfs(reader.text('path')));
    },
  },
  'fstatvfs@openssh.com': {
    name: 'fstatvfs',
    writes: false,
    async run({ id, reader }) {
      const { handle } = this.readHandle(reader.bytes('handle'));
      const path = handle.path.slice(0, handle.path.lastIndexOf('/')) || '/';
      return this.statvfsReply(id, await this.session.statvfs(handle.kind === 'dir' ? handle.path : path));
    },
  },
  'hardlink@openssh.com': {
    name: 'hardlink',
    writes: true,
    async run({ id, reader }) {
      const existing = reader.text('oldpath');
      const newPath = reader.text('newpath');
      await this.session.link(existing, newPath);
      return this.ok(id);
    },
  },
  'fsync@openssh.com': {
    name: 'fsync',
    writes: false,
    async run({ id, reader }) {
      const { handle } = this.fileHandle(reader.bytes('handle'));
      if (handle.kind === 'write') await withHandle(handle, () => handle.upload.file.sync());
      return this.ok(id);
    },
  },
  'limits@openssh.com': {
    name: 'limits',
    writes: false,
    async run({ id }) {
      const l = this.limits;
      return new PacketWriter(FXP.EXTENDED_REPLY, id).u64(l.maxPacketBytes).u64(l.maxReadWriteBytes).u64(l.maxReadWriteBytes).u64(l.maxOpenHandles).finish();
    },
  },
};

