// Local-disk backend, jailed in the user's home. Every path goes through `resolve`, which maps
// the virtual path under the home's real path and resolves symlinks; anything that lands
// outside the home is refused (ERR_VFS_ESCAPE) at the moment it is used.
import { randomBytes } from 'node:crypto';
import { constants, readlinkSync, type Dirent, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { LIMITS } from '../config/limits.ts';
import { fromSystemError, PortcullisError } from '../errors/index.ts';
import type { OpenWriteOptions, Vfs, VfsAttributes, VfsDirEntry, VfsFile, VfsStat, VfsStatvfs, VfsUpload, WriteMode } from './vfs.ts';
import { parseVirtualPath, UPLOAD_TEMP_PREFIX, virtualDirname } from './virtual-path.ts';

const HAS_PROC_FD = process.platform === 'linux';
/** The umask, read once at start (nothing in the server changes it). Should it change later,
 * uploads may get fewer permission bits than asked for, never more. Where it cannot be read
 * (a worker thread), every bit counts as masked: the exact mode is then always set. */
const PROCESS_UMASK = (() => {
  try {
    const mask = process.umask(0o022);
    process.umask(mask);
    return mask;
  } catch {
    return 0o777;
  }
})();

export function toVfsStat(st: Stats): VfsStat {
  return {
    type: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other',
    size: st.size,
    mode: st.mode & 0o777,
    mtime: st.mtime,
    atime: st.atime,
    uid: st.uid,
    gid: st.gid,
    nlink: st.nlink,
  };
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromSystemError(err);
  }
}

export class LocalVfs implements Vfs {
  private constructor(private readonly root: string) {}

  /** Opens a jail at `home` (created if missing). The root is the home's real path. */
  static async open(home: string): Promise<LocalVfs> {
    await fs.mkdir(home, { recursive: true, mode: 0o750 });
    return new LocalVfs(await fs.realpath(home));
  }

  private inside(real: string): boolean {
    return real === this.root || real.startsWith(this.root + path.sep);
  }

  private assertInside(real: string): string {
    // SECURITY: the jail check. Every real path handed to the OS passes here.
    if (!this.inside(real)) throw new PortcullisError('ERR_VFS_ESCAPE');
    return real;
  }

  private lexical(vpath: string): string {
    const v = parseVirtualPath(vpath);
    return v === '/' ? this.root : path.join(this.root, v);
  }

  /**
   * Real path for `vpath`. With `follow`, symlinks in every component are resolved (the last
   * one may not exist yet); without, the parent is resolved and the last name is kept as is
   * (to act on a link itself: lstat, remove, rename, readlink).
   */
  private async resolve(vpath: string, follow: boolean): Promise<string> {
    const lexical = this.lexical(vpath);
    if (lexical === this.root) return this.root;
    if (follow) {
      try {
        return this.assertInside(await fs.realpath(lexical));
      } catch (err) {
        if (err instanceof PortcullisError || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err);
        // Missing last name: is it a dangling symlink? Then its target decides.
        const link = await fs.lstat(lexical).catch(() => null);
        if (link?.isSymbolicLink()) {
          const target = path.resolve(path.dirname(lexical), await fs.readlink(lexical));
          const parentOfTarget = await wrap(() => fs.realpath(path.dirname(target)));
          return this.assertInside(path.join(parentOfTarget, path.basename(target)));
        }
      }
    }
    const parent = await wrap(() => fs.realpath(path.dirname(lexical)));
    return this.assertInside(path.join(this.assertInside(parent), path.basename(lexical)));
  }

  /**
   * SECURITY: after open, confirm the descriptor's file is inside the jail (closes the race
   * between resolving a path and opening it, should a component be swapped for a symlink).
   * Synchronous on purpose: /proc/self/fd/N is answered from the kernel's own tables (no disk
   * I/O, nothing that can block), and a thread-pool round trip costs far more than the call.
   * Throws ERR_VFS_ESCAPE; the caller closes the handle.
   */
  private assertHandleInside(handle: FileHandle): void {
    if (!HAS_PROC_FD) return;
    let real: string | null;
    try {
      real = readlinkSync(`/proc/self/fd/${handle.fd}`);
    } catch {
      real = null;
    }
    if (real === null || !this.inside(real)) throw new PortcullisError('ERR_VFS_ESCAPE');
  }

  private toVirtual(real: string): string {
    return real === this.root ? '/' : `/${path.relative(this.root, real).split(path.sep).join('/')}`;
  }

  async stat(vpath: string): Promise<VfsStat> {
    const real = await this.resolve(vpath, true);
    return toVfsStat(await wrap(() => fs.stat(real)));
  }

  async lstat(vpath: string): Promise<VfsStat> {
    const real = await this.resolve(vpath, false);
    return toVfsStat(await wrap(() => fs.lstat(real)));
  }

  async *readdir(vpath: string): AsyncIterable<VfsDirEntry> {
    const real = await this.resolve(vpath, true);
    const dir = await wrap(() => fs.opendir(real, { bufferSize: LIMITS.listBatchEntries }));
    // Entries are stat'ed a few dozen at a time, side by side, instead of one round trip each.
    let names: string[] = [];
    const statNames = async (): Promise<VfsDirEntry[]> => {
      const stats = await Promise.all(names.map((name) => fs.lstat(path.join(real, name)).catch(() => null)));
      const out: VfsDirEntry[] = [];
      stats.forEach((st, i) => {
        if (st) out.push({ name: names[i]!, stat: toVfsStat(st) });
      });
      names = [];
      return out;
    };
    try {
      for await (const entry of dir as AsyncIterable<Dirent>) {
        if (entry.name.startsWith(UPLOAD_TEMP_PREFIX)) continue; // in-flight uploads stay hidden
        names.push(entry.name);
        if (names.length >= LIMITS.listStatConcurrency) yield* await statNames();
      }
      yield* await statNames();
    } catch (err) {
      throw fromSystemError(err);
    }
  }

  async openRead(vpath: string): Promise<VfsFile> {
    const real = await this.resolve(vpath, true);
    // SECURITY: O_NOFOLLOW — the path is already resolved; a symlink here means it was swapped.
    const handle = await wrap(() => fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW));
    try {
      this.assertHandleInside(handle);
      const st = await wrap(() => handle.stat());
      if (st.isDirectory()) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return new LocalFile(handle);
  }

  /**
   * The final name of an upload: its real path and what is there now. The common cases (a new
   * name, or a name that is not a symlink) cost two lookups: the parent's realpath and an lstat
   * of the name, the same two a separate existence check made before. A symlink falls back to
   * the full resolution (its target decides, and must be inside the home).
   */
  private async uploadTarget(vpath: string): Promise<{ finalPath: string; existing: Stats | null; exists: boolean }> {
    const lexical = this.lexical(vpath);
    if (lexical === this.root) return { finalPath: this.root, existing: await wrap(() => fs.stat(this.root)), exists: true };
    const parent = this.assertInside(await wrap(() => fs.realpath(path.dirname(lexical))));
    const named = path.join(parent, path.basename(lexical));
    this.assertInside(named);
    const st = await fs.lstat(named).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw fromSystemError(err);
    });
    if (!st?.isSymbolicLink()) return { finalPath: named, existing: st, exists: st !== null };
    // SECURITY: a symlink as the final name: resolved in full and confined like any path.
    const finalPath = await this.resolve(vpath, true);
    return { finalPath, existing: await fs.stat(finalPath).catch(() => null), exists: true };
  }

  async openWrite(vpath: string, mode: WriteMode, options: OpenWriteOptions = {}): Promise<VfsUpload> {
    const { finalPath, existing, exists } = await this.uploadTarget(vpath);
    options.authorize?.(exists);
    if (existing?.isDirectory()) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    if (existing && mode === 'exclusive') throw new PortcullisError('ERR_VFS_EXISTS');
    const dir = path.dirname(finalPath);
    const temp = path.join(dir, `${UPLOAD_TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const fromExisting = existing !== null && (mode === 'keep' || mode === 'append');
    if (fromExisting) {
      // Start from the current content (a reflink where the filesystem can), so a resumed
      // upload that fails still leaves the old file untouched under its name.
      await wrap(() => fs.copyFile(finalPath, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE));
    }
    const flags = fromExisting ? constants.O_RDWR | constants.O_NOFOLLOW : constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    // SECURITY: permission bits only, as in applyAttributes.
    const createMode = options.createMode !== undefined && !fromExisting ? options.createMode & 0o777 : undefined;
    let handle: FileHandle;
    try {
      handle = await fs.open(temp, flags, createMode ?? (existing ? existing.mode & 0o777 : 0o644));
    } catch (err) {
      await fs.unlink(temp).catch(() => undefined);
      throw fromSystemError(err);
    }
    try {
      this.assertHandleInside(handle);
      // The umask may have cleared bits the client asked for: set them exactly (as chmod did).
      if (createMode !== undefined && (createMode & PROCESS_UMASK) !== 0) await wrap(() => handle.chmod(createMode));
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.unlink(temp).catch(() => undefined);
      throw err;
    }
    const appendAt = mode === 'append' ? (existing?.size ?? 0) : null;
    return new LocalUpload(handle, temp, finalPath, appendAt);
  }

  async mkdir(vpath: string): Promise<void> {
    const real = await this.resolve(vpath, false);
    await wrap(() => fs.mkdir(real, { mode: 0o755 }));
  }

  async rmdir(vpath: string): Promise<void> {
    const real = await this.resolve(vpath, false);
    if (real === this.root) throw new PortcullisError('ERR_PERMISSION_DENIED', 'the home directory cannot be removed');
    await wrap(() => fs.rmdir(real));
  }

  async remove(vpath: string): Promise<void> {
    const real = await this.resolve(vpath, false);
    const st = await wrap(() => fs.lstat(real));
    if (st.isDirectory()) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    await wrap(() => fs.unlink(real));
  }

  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    const src = await this.resolve(from, false);
    const dst = await this.resolve(to, false);
    if (src === this.root || dst === this.root) throw new PortcullisError('ERR_PERMISSION_DENIED', 'the home directory cannot be renamed');
    await wrap(() => fs.lstat(src));
    if (!overwrite && (await fs.lstat(dst).catch(() => null))) throw new PortcullisError('ERR_VFS_EXISTS');
    await wrap(() => fs.rename(src, dst));
  }

  async setAttributes(vpath: string, attrs: VfsAttributes): Promise<void> {
    const real = await this.resolve(vpath, true);
    await applyAttributes(real, attrs);
  }

  async realpath(vpath: string): Promise<string> {
    const lexical = parseVirtualPath(vpath);
    try {
      return this.toVirtual(await this.resolve(lexical, true));
    } catch (err) {
      if (err instanceof PortcullisError && err.code === 'ERR_VFS_NOT_FOUND') return lexical;
      throw err;
    }
  }

  async symlink(target: string, link: string): Promise<void> {
    const linkVirtual = parseVirtualPath(link);
    const linkReal = await this.resolve(linkVirtual, false);
    // SECURITY: the target is normalised as a virtual path (so it cannot climb above the home)
    // and stored relative to the link's folder; it is checked again whenever it is used.
    const targetVirtual = parseVirtualPath(target, virtualDirname(linkVirtual));
    const relative = path.posix.relative(virtualDirname(linkVirtual), targetVirtual) || '.';
    await wrap(() => fs.symlink(relative, linkReal));
  }

  async readlink(vpath: string): Promise<string> {
    const real = await this.resolve(vpath, false);
    const target = await wrap(() => fs.readlink(real));
    const absolute = path.resolve(path.dirname(real), target);
    // SECURITY: never reveal a real path outside the home.
    if (!this.inside(absolute)) throw new PortcullisError('ERR_VFS_ESCAPE');
    return path.isAbsolute(target) ? this.toVirtual(absolute) : target;
  }

  async link(existing: string, newPath: string): Promise<void> {
    const src = await this.resolve(existing, true);
    const dst = await this.resolve(newPath, false);
    const st = await wrap(() => fs.stat(src));
    if (!st.isFile()) throw new PortcullisError('ERR_PERMISSION_DENIED', 'only regular files can be hard-linked');
    await wrap(() => fs.link(src, dst));
  }

  async statvfs(vpath: string): Promise<VfsStatvfs> {
    const real = await this.resolve(vpath, true);
    const s = await wrap(() => fs.statfs(real));
    return { blockSize: s.bsize, blocks: s.blocks, blocksFree: s.bfree, blocksAvailable: s.bavail, files: s.files, filesFree: s.ffree, nameMax: LIMITS.maxNameBytes };
  }
}

async function applyAttributes(target: string | FileHandle, attrs: VfsAttributes): Promise<void> {
  const isHandle = typeof target !== 'string';
  await wrap(async () => {
    if (attrs.size !== undefined) await (isHandle ? target.truncate(attrs.size) : fs.truncate(target, attrs.size));
    // SECURITY: permission bits only; setuid, setgid and sticky are never set by a client.
    if (attrs.mode !== undefined) await (isHandle ? target.chmod(attrs.mode & 0o777) : fs.chmod(target, attrs.mode & 0o777));
    if (attrs.atime !== undefined || attrs.mtime !== undefined) {
      const st = isHandle ? await target.stat() : await fs.stat(target);
      const atime = attrs.atime ?? st.atime;
      const mtime = attrs.mtime ?? st.mtime;
      await (isHandle ? target.utimes(atime, mtime) : fs.utimes(target, atime, mtime));
    }
  });
}

class LocalFile implements VfsFile {
  protected closed = false;
  /** Streams over the handle: each holds a reference that keeps `handle.close()` waiting
   * until the stream itself closes, so they are destroyed first. */
  private readonly streams = new Set<NodeJS.ReadableStream | NodeJS.WritableStream>();
  constructor(protected readonly handle: FileHandle) {}

  protected track<T extends NodeJS.ReadableStream | NodeJS.WritableStream>(stream: T): T {
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await wrap(() => this.handle.read(buffer, offset, length, position));
    return bytesRead;
  }

  async stat(): Promise<VfsStat> {
    return toVfsStat(await wrap(() => this.handle.stat()));
  }

  createReadStream(start: number): NodeJS.ReadableStream {
    return this.track(this.handle.createReadStream({ start, autoClose: false, highWaterMark: 256 * 1024 }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.streams].map(
        (st) =>
          new Promise<void>((resolve) => {
            st.once('close', () => resolve());
            (st as unknown as { destroy(): void }).destroy();
          }),
      ),
    );
    await this.handle.close().catch(() => undefined);
  }
}

class LocalUpload extends LocalFile implements VfsUpload {
  private settled = false;

  constructor(
    handle: FileHandle,
    private readonly temp: string,
    private readonly finalPath: string,
    private appendAt: number | null,
  ) {
    super(handle);
  }

  async write(buffer: Buffer, position: number): Promise<number> {
    let pos = position;
    if (this.appendAt !== null) {
      pos = this.appendAt;
      this.appendAt += buffer.length;
    }
    const { bytesWritten } = await wrap(() => this.handle.write(buffer, 0, buffer.length, pos));
    return bytesWritten;
  }

  async truncate(size: number): Promise<void> {
    await wrap(() => this.handle.truncate(size));
  }

  async sync(): Promise<void> {
    await wrap(() => this.handle.sync());
  }

  createWriteStream(start: number): NodeJS.WritableStream {
    const pos = this.appendAt ?? start;
    return this.track(this.handle.createWriteStream({ start: pos, autoClose: false, highWaterMark: 256 * 1024 }));
  }

  async setAttributes(attrs: VfsAttributes): Promise<void> {
    await applyAttributes(this.handle, attrs);
  }

  async commit(): Promise<void> {
    if (this.settled) throw new PortcullisError('ERR_SESSION_CLOSED', 'upload already finished');
    this.settled = true;
    try {
      // No fsync here (as vsftpd and OpenSSH): rename-over-old is safe against a killed
      // process; clients that want durability send fsync@openssh.com.
      await this.close();
      await fs.rename(this.temp, this.finalPath);
    } catch (err) {
      await this.close();
      await fs.unlink(this.temp).catch(() => undefined);
      throw fromSystemError(err);
    }
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.close();
    await fs.unlink(this.temp).catch(() => undefined);
  }
}
