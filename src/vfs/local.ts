// Local-disk backend, jailed in the user's home. Every path is mapped under the home's real
// path; an operation holds the folder it acts in (or the file) open and checks the descriptor,
// not the path, is inside the home (symlinks are followed by the kernel, or resolved by
// `resolve`); anything that lands outside the home is refused (ERR_VFS_ESCAPE) at the moment
// it is used.
import { randomBytes } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { LIMITS } from '../config/limits.ts';
import { fromSystemError, PortcullisError } from '../errors/index.ts';
import { FULL_CAPABILITIES, type OpenWriteOptions, type Vfs, type VfsAttributes, type VfsDirEntry, type VfsFile, type VfsStat, type VfsStatvfs, type VfsUpload, type WriteMode } from './vfs.ts';
import { closeFd, fdPath, HAS_PROC_FD, HeldDir, lstatOrNull, O_PATH, openFd, wrap } from './held-dir.ts';
import { applyAttributes, LocalFile, LocalUpload, toVfsStat } from './local-file.ts';
import { parseVirtualPath, UPLOAD_TEMP_PREFIX, virtualDirname } from './virtual-path.ts';

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

/** Bytes copied into open resumed uploads, per home real path (shared by all its sessions). */
const resumeCopies = new Map<string, number>();

export class LocalVfs implements Vfs {
  readonly capabilities = FULL_CAPABILITIES;
  /**
   * The folders this session used last, held, by their real path (LRU, at most
   * LIMITS.vfsHeldFoldersPerSession): a thousand uploads into one folder open and check it
   * once instead of a thousand times. Only folders whose real path is the lexical path are
   * kept (no symlink on the way), and each use first checks that the held folder is still
   * there under that path (heldAt).
   */
  private readonly folders = new Map<string, HeldDir>();
  private closed = false;
  private constructor(private readonly root: string) {}

  /** Opens a jail at `home` (created if missing). The root is the home's real path. */
  static async open(home: string): Promise<LocalVfs> {
    await fs.mkdir(home, { recursive: true, mode: 0o750 });
    return new LocalVfs(await fs.realpath(home));
  }

  /**
   * Removes upload temporaries left by a killed server (issue 14.9): every
   * `.portcullis-upload-*` file under `home` whose inode changed before `before` (the server's
   * start). An upload of this run has a later ctime (creating or writing the file sets it, and
   * no client can set it back), so a sweep running beside new sessions never takes theirs.
   * Symlinks are not followed; a missing home is nothing to sweep.
   */
  static async sweepUploadLeftovers(home: string, before: Date): Promise<{ files: number; bytes: number }> {
    const found = { files: 0, bytes: 0 };
    const walk = async (dir: string): Promise<void> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
      for (const e of entries) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && e.name.startsWith(UPLOAD_TEMP_PREFIX)) {
          const st = await fs.lstat(p).catch(() => null);
          if (!st || st.ctime >= before) continue;
          if (await fs.unlink(p).then(() => true, () => false)) {
            found.files++;
            found.bytes += st.size;
          }
        }
      }
    };
    await walk(home);
    return found;
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
    const real = fdPath(handle.fd);
    if (real === null || !this.inside(real)) throw new PortcullisError('ERR_VFS_ESCAPE');
  }

  /**
   * SECURITY: the confinement by construction (docs/threat-model.md, "Confinement"). Opens the
   * folder that holds the last name of `vpath`, checks the held descriptor (not a path) is
   * inside the home, and returns it with the name to act on. The check and every later use
   * name the same kernel object, so no swap of a component between them changes what is used.
   */
  private async holdParent(vpath: string): Promise<{ dir: HeldDir; name: string; real: string }> {
    const lexical = this.lexical(vpath);
    if (lexical === this.root) throw new PortcullisError('ERR_PERMISSION_DENIED', 'the home directory itself cannot be changed this way');
    const dir = await this.holdFolder(path.dirname(lexical));
    const name = path.basename(lexical);
    return { dir, name, real: path.join(dir.real, name) };
  }

  /**
   * SECURITY: holds the folder at `dirPath` (symlinks on the way are followed) and checks the
   * held descriptor, not the path, is inside the home: the kernel resolves the path once, in
   * the open, and what is checked is what was opened. The real path is read back from the
   * descriptor (so no separate realpath, which was a second walk that could see another tree).
   */
  private async holdDir(dirPath: string): Promise<HeldDir> {
    if (!HAS_PROC_FD) return new HeldDir(-1, this.assertInside(await wrap(() => fs.realpath(dirPath))));
    const fd = await openFd(dirPath, O_PATH | constants.O_DIRECTORY);
    const real = fdPath(fd);
    if (real === null || !this.inside(real)) {
      closeFd(fd);
      throw new PortcullisError('ERR_VFS_ESCAPE');
    }
    return new HeldDir(fd, real);
  }

  /**
   * The folder at `lexicalDir` (a path under the root, not resolved), held: from the cache
   * when the folder held there is still that path, else opened and checked (holdDir).
   * The caller releases it.
   */
  private async holdFolder(lexicalDir: string): Promise<HeldDir> {
    const cached = this.folders.get(lexicalDir);
    if (cached) {
      // SECURITY: checked again at every use, as a fresh hold is: the held folder's current
      // path (from the kernel) must still be `lexicalDir`. A folder has one path, so a folder
      // found there with no symlink on the way is the one a fresh open would get; a folder
      // renamed, or swapped for a symlink since, misses and is opened and checked anew.
      this.folders.delete(lexicalDir);
      if (fdPath(cached.fd) === lexicalDir && this.inside(lexicalDir)) {
        this.folders.set(lexicalDir, cached);
        return cached.retain();
      }
      cached.release();
    }
    const held = await this.holdDir(lexicalDir);
    if (held.fd >= 0 && held.real === lexicalDir && !this.closed) {
      this.folders.get(lexicalDir)?.release(); // held meanwhile by a concurrent operation
      this.folders.delete(lexicalDir);
      this.folders.set(lexicalDir, held.retain());
      if (this.folders.size > LIMITS.vfsHeldFoldersPerSession) {
        const [oldest, dir] = this.folders.entries().next().value!;
        this.folders.delete(oldest);
        dir.release();
      }
    }
    return held;
  }

  /** Lets go of the held folders (the session ended). */
  close(): Promise<void> {
    this.closed = true;
    for (const dir of this.folders.values()) dir.release();
    this.folders.clear();
    return Promise.resolve();
  }

  private async withParent<T>(vpath: string, fn: (at: string, real: string) => Promise<T>): Promise<T> {
    const { dir, name, real } = await this.holdParent(vpath);
    try {
      return await wrap(() => fn(dir.at(name), real));
    } finally {
      dir.release();
    }
  }

  private toVirtual(real: string): string {
    return real === this.root ? '/' : `/${path.relative(this.root, real).split(path.sep).join('/')}`;
  }

  async stat(vpath: string): Promise<VfsStat> {
    const real = await this.resolve(vpath, true);
    if (!HAS_PROC_FD) return toVfsStat(await wrap(() => fs.stat(real)));
    // SECURITY: what is described is what was held and checked (no symlink followed after resolving).
    const handle = await wrap(() => fs.open(real, O_PATH | constants.O_NOFOLLOW));
    try {
      this.assertHandleInside(handle);
      const st = await wrap(() => handle.stat());
      if (st.isSymbolicLink()) throw new PortcullisError('ERR_VFS_ESCAPE');
      return toVfsStat(st);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async lstat(vpath: string): Promise<VfsStat> {
    if (this.lexical(vpath) === this.root) return toVfsStat(await wrap(() => fs.lstat(this.root)));
    return toVfsStat(await this.withParent(vpath, (at) => fs.lstat(at)));
  }

  async *readdir(vpath: string): AsyncIterable<VfsDirEntry> {
    const resolved = await this.resolve(vpath, true);
    // SECURITY: the folder listed is held and checked; entries are looked up inside it.
    const held = await this.holdDir(resolved);
    const real = held.fd >= 0 ? `/proc/self/fd/${held.fd}` : held.real;
    const dir = await wrap(() => fs.opendir(real, { bufferSize: LIMITS.listBatchEntries })).catch((err: unknown) => {
      held.release();
      throw err;
    });
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
    } finally {
      held.release();
    }
  }

  async openRead(vpath: string): Promise<VfsFile> {
    // Both ways check the descriptor is inside the home (assertHandleInside).
    const handle = (await this.openInFolder(vpath, constants.O_RDONLY)) ?? (await this.openResolved(vpath, constants.O_RDONLY));
    try {
      const st = await wrap(() => handle.stat());
      if (st.isDirectory()) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return new LocalFile(handle);
  }

  /**
   * SECURITY: opens the last name of `vpath` inside its held folder, without following a
   * symlink, and checks the descriptor. Null when that name is a symlink (ELOOP): the caller
   * then resolves it in full (openResolved), since its target decides.
   */
  private async openInFolder(vpath: string, flags: number): Promise<FileHandle | null> {
    const lexical = this.lexical(vpath);
    if (!HAS_PROC_FD || lexical === this.root) return null;
    const dir = await this.holdFolder(path.dirname(lexical));
    let handle: FileHandle;
    try {
      handle = await fs.open(dir.at(path.basename(lexical)), flags | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') return null;
      throw fromSystemError(err);
    } finally {
      dir.release();
    }
    return this.checkedInside(handle);
  }

  /** The handle, if its file is inside the home (SECURITY: checked on the descriptor); else closed, and the error. */
  private async checkedInside(handle: FileHandle): Promise<FileHandle> {
    try {
      this.assertHandleInside(handle);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return handle;
  }

  /** Opens the file `vpath` names once every symlink is resolved (and confined), and checks it. */
  private async openResolved(vpath: string, flags: number): Promise<FileHandle> {
    const real = await this.resolve(vpath, true);
    // SECURITY: O_NOFOLLOW — the path is already resolved; a symlink here means it was swapped.
    const handle = await wrap(() => fs.open(real, flags | constants.O_NOFOLLOW));
    return this.checkedInside(handle);
  }

  /**
   * The final name of an upload: its folder (held) and name, and what is there now. The common
   * cases (a new name, or a name that is not a symlink) cost one lookup, an lstat of the name
   * in the held folder (the folder itself usually comes from the cache). A symlink falls back to
   * the full resolution (its target decides, and must be inside the home).
   */
  private async uploadTarget(vpath: string): Promise<{ dir: HeldDir; finalName: string; existing: Stats | null; exists: boolean }> {
    const lexical = this.lexical(vpath);
    if (lexical === this.root) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    const named = await this.holdFolder(path.dirname(lexical));
    const st = await lstatOrNull(named.at(path.basename(lexical))).catch((err: unknown) => {
      named.release();
      throw err;
    });
    if (!st?.isSymbolicLink()) return { dir: named, finalName: path.basename(lexical), existing: st, exists: st !== null };
    named.release();
    // SECURITY: a symlink as the final name: resolved in full and confined like any path; its
    // folder is held and checked like any other.
    const finalPath = await this.resolve(vpath, true);
    const dir = await this.holdFolder(path.dirname(finalPath));
    const existing = await lstatOrNull(dir.at(path.basename(finalPath))).catch((err: unknown) => {
      dir.release();
      throw err;
    });
    return { dir, finalName: path.basename(finalPath), existing, exists: true };
  }

  async openWrite(vpath: string, mode: WriteMode, options: OpenWriteOptions = {}): Promise<VfsUpload> {
    if (this.lexical(vpath) === this.root) {
      // The home itself: it exists (the overwrite check runs first, as for any name) and is a folder.
      options.authorize?.(true);
      throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    }
    // SECURITY: the folder is held and checked for the whole upload; the temporary file is
    // created, renamed and removed by name inside the held folder (holdFolder).
    const { dir, finalName, existing, exists } = await this.uploadTarget(vpath);
    try {
      if (!exists) assertNewName(vpath);
      options.authorize?.(exists);
      if (existing?.isDirectory()) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
      if (existing && mode === 'exclusive') throw new PortcullisError('ERR_VFS_EXISTS');
    } catch (err) {
      dir.release();
      throw err;
    }
    const finalPath = path.join(dir.real, finalName);
    const tempName = `${UPLOAD_TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
    const temp = dir.at(tempName);
    const fromExisting = existing !== null && (mode === 'keep' || mode === 'append');
    let handle: FileHandle | undefined;
    // SECURITY: the copy is work done for the user before any byte arrives; bounded per home.
    const copyBytes = fromExisting ? existing.size : 0;
    const held = resumeCopies.get(this.root) ?? 0;
    if (copyBytes > 0 && held + copyBytes > LIMITS.resumeCopyBytesPerHome) {
      dir.release();
      throw new PortcullisError('ERR_VFS_COPY_LIMIT', `${held} bytes already copied for open resumed uploads; the limit is ${LIMITS.resumeCopyBytesPerHome}`);
    }
    if (copyBytes > 0) resumeCopies.set(this.root, held + copyBytes);
    const root = this.root;
    const release = (): void => {
      if (copyBytes === 0) return;
      const left = (resumeCopies.get(root) ?? copyBytes) - copyBytes;
      if (left > 0) resumeCopies.set(root, left);
      else resumeCopies.delete(root);
    };
    try {
      if (fromExisting) {
        // Start from the current content (a reflink where the filesystem can), so a resumed
        // upload that fails still leaves the old file untouched under its name. The source is
        // opened without following a symlink and checked, then copied through its descriptor.
        const source = await wrap(() => fs.open(dir.at(finalName), constants.O_RDONLY | constants.O_NOFOLLOW));
        try {
          this.assertHandleInside(source);
          await wrap(() => fs.copyFile(HAS_PROC_FD ? `/proc/self/fd/${source.fd}` : finalPath, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE));
        } finally {
          await source.close().catch(() => undefined);
        }
      }
      const flags = fromExisting ? constants.O_RDWR | constants.O_NOFOLLOW : constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      // SECURITY: permission bits only, as in applyAttributes.
      const createMode = options.createMode !== undefined && !fromExisting ? options.createMode & 0o777 : undefined;
      handle = await wrap(() => fs.open(temp, flags, createMode ?? (existing ? existing.mode & 0o777 : 0o644)));
      this.assertHandleInside(handle);
      // The umask may have cleared bits the client asked for: set them exactly (as chmod did).
      if (createMode !== undefined && (createMode & PROCESS_UMASK) !== 0) await wrap(() => handle!.chmod(createMode));
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await fs.unlink(temp).catch(() => undefined);
      dir.release();
      release();
      throw err instanceof PortcullisError ? err : fromSystemError(err);
    }
    const appendAt = mode === 'append' ? (existing?.size ?? 0) : null;
    return new LocalUpload(handle, dir, tempName, finalName, appendAt, release);
  }

  async mkdir(vpath: string): Promise<void> {
    assertNewName(vpath);
    await this.withParent(vpath, (at) => fs.mkdir(at, { mode: 0o755 }));
  }

  async rmdir(vpath: string): Promise<void> {
    if (this.lexical(vpath) === this.root) throw new PortcullisError('ERR_PERMISSION_DENIED', 'the home directory cannot be removed');
    await this.withParent(vpath, (at) => fs.rmdir(at));
  }

  async remove(vpath: string): Promise<void> {
    await this.withParent(vpath, async (at) => {
      // An unlink of a folder fails (EISDIR) anyway; the lstat only names the error the same on
      // every filesystem, and both name the entry in the held folder.
      const st = await fs.lstat(at);
      if (st.isDirectory()) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
      await fs.unlink(at);
    });
  }

  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    if (this.lexical(from) === this.root || this.lexical(to) === this.root) throw new PortcullisError('ERR_PERMISSION_DENIED', 'the home directory cannot be renamed');
    assertNewName(to);
    await this.withParent(from, async (src) => {
      await this.withParent(to, async (dst) => {
        await fs.lstat(src);
        if (!overwrite && (await fs.lstat(dst).catch(() => null))) throw new PortcullisError('ERR_VFS_EXISTS');
        await fs.rename(src, dst);
      });
    });
  }

  async setAttributes(vpath: string, attrs: VfsAttributes): Promise<void> {
    const real = await this.resolve(vpath, true);
    if (!HAS_PROC_FD) return applyAttributes(real, attrs);
    // SECURITY: the resolved file is held (O_PATH, no symlink followed), checked, and changed
    // through its descriptor: a swap after resolving cannot redirect the change.
    const handle = await wrap(() => fs.open(real, O_PATH | constants.O_NOFOLLOW));
    try {
      this.assertHandleInside(handle);
      const st = await wrap(() => handle.stat());
      if (st.isSymbolicLink()) throw new PortcullisError('ERR_VFS_ESCAPE');
      await applyAttributes(`/proc/self/fd/${handle.fd}`, attrs);
    } finally {
      await handle.close().catch(() => undefined);
    }
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
    assertNewName(linkVirtual);
    // SECURITY: the target is normalised as a virtual path (so it cannot climb above the home)
    // and stored relative to the link's folder; it is checked again whenever it is used.
    const targetVirtual = parseVirtualPath(target, virtualDirname(linkVirtual));
    const relative = path.posix.relative(virtualDirname(linkVirtual), targetVirtual) || '.';
    await this.withParent(linkVirtual, (at) => fs.symlink(relative, at));
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
    assertNewName(newPath);
    // SECURITY: link(2) never follows the last name: the file linked is the entry in the held
    // folder, checked to be a regular file (a symlink would otherwise be linked as itself).
    const src = await this.resolve(existing, true);
    await this.withParent(newPath, async (dst) => {
      const held = await this.holdDir(path.dirname(src));
      try {
        const at = held.at(path.basename(src));
        const st = await fs.lstat(at);
        if (!st.isFile()) throw new PortcullisError('ERR_PERMISSION_DENIED', 'only regular files can be hard-linked');
        await fs.link(at, dst);
      } finally {
        held.release();
      }
    });
  }

  async statvfs(vpath: string): Promise<VfsStatvfs> {
    const real = await this.resolve(vpath, true);
    const s = await wrap(() => fs.statfs(real));
    return { blockSize: s.bsize, blocks: s.blocks, blocksFree: s.bfree, blocksAvailable: s.bavail, files: s.files, filesFree: s.ffree, nameMax: LIMITS.maxNameBytes };
  }
}

/** C0 and C1 control characters and DEL (issue 14.13). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * SECURITY: a new name (create, mkdir, rename target, symlink, link) never holds a control
 * character: such names inject escape sequences into terminals and listings. Names already on
 * disk stay reachable (only names being created are checked).
 */
export function assertNewName(vpath: string): void {
  if (CONTROL_CHARS.test(path.posix.basename(parseVirtualPath(vpath)))) {
    throw new PortcullisError('ERR_VFS_INVALID_PATH', 'a new name may not contain control characters (C0, C1 or DEL); rename it without them');
  }
}
