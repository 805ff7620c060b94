// The virtual filesystem interface: one narrow contract, several backends (local disk now,
// object storage later). All paths are virtual (see virtual-path.ts); backends confine them.

export interface VfsStat {
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  /** Permission bits only (0o777), never setuid/setgid/sticky. */
  mode: number;
  mtime: Date;
  atime: Date;
  uid: number;
  gid: number;
  nlink: number;
}

export interface VfsDirEntry {
  name: string;
  stat: VfsStat;
}

export interface VfsStatvfs {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  blocksAvailable: number;
  files: number;
  filesFree: number;
  nameMax: number;
}

export interface VfsAttributes {
  size?: number;
  mode?: number;
  atime?: Date;
  mtime?: Date;
}

/** An open file for reading (and, for uploads, writing) at any offset. */
export interface VfsFile {
  /** `buffer` is lent: filled before the promise settles, never touched after (SFTP passes
   * reused buffers: src/protocols/sftp/buffer-pool.ts). */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  stat(): Promise<VfsStat>;
  /** A stream from `start` to the end, with back-pressure. */
  createReadStream(start: number): NodeJS.ReadableStream;
  close(): Promise<void>;
}

/**
 * An upload in progress. Bytes go to a temporary file beside the final name; `commit` puts it
 * in place, `abort` removes it. Until commit, the final name keeps its old content (or none).
 */
export interface VfsUpload extends VfsFile {
  /** `buffer` is lent for the call only: a backend that needs the bytes later (a buffered
   * object-store part) copies them, because SFTP reuses the buffer for the next request. */
  write(buffer: Buffer, position: number): Promise<number>;
  truncate(size: number): Promise<void>;
  sync(): Promise<void>;
  /** A stream writing from `start`, with back-pressure. */
  createWriteStream(start: number): NodeJS.WritableStream;
  setAttributes(attrs: VfsAttributes): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** How an upload treats an existing file. */
export type WriteMode =
  | 'truncate' // start empty (STOR, SFTP open with TRUNC)
  | 'keep' // start from the existing content: resume, random writes (REST+STOR, SFTP open without TRUNC)
  | 'append' // start from the existing content, writes go to the end (APPE, SFTP APPEND)
  | 'exclusive'; // fail if the file exists (STOU, SFTP EXCL)

export interface OpenWriteOptions {
  /** Permission bits for a file that starts empty ('truncate', 'exclusive'); default: the
   * existing file's bits, else 0644. */
  createMode?: number;
  /**
   * Called once the backend knows whether the final name exists (lstat: a symlink counts as
   * existing), before anything is created. Throwing refuses the upload. The Session checks the
   * overwrite permission here, so the name is looked up once instead of twice.
   */
  authorize?(exists: boolean): void;
}

/**
 * What a backend can do beyond the core (stat, list, read, whole-file upload with commit/abort,
 * mkdir, rmdir, remove, rename of files). The protocols advertise only what is true here (SFTP
 * extensions, FTP FEAT, REST STREAM); an operation outside them fails with ERR_VFS_UNSUPPORTED
 * (or the more precise code named below).
 */
export interface VfsCapabilities {
  /** Writes at any offset, in any order, over bytes already written. Without it, writes may
   * arrive out of order (they are spooled) but never below what was already stored. */
  randomWrite: boolean;
  /** 'keep' and 'append' on an existing non-empty file (REST+STOR, APPE, SFTP open without
   * TRUNC); without it they fail with ERR_VFS_RESUME_UNSUPPORTED. */
  resume: boolean;
  symlinks: boolean;
  hardLinks: boolean;
  /** chmod (and truncate) through setAttributes. */
  setMode: boolean;
  /** atime/mtime through setAttributes (FTP MFMT). */
  setTimes: boolean;
  statvfs: boolean;
  /** fsync of an open upload means something (fsync@openssh.com). */
  sync: boolean;
  /** rename is atomic and moves non-empty directories (posix-rename@openssh.com); without it
   * a non-empty directory rename fails with ERR_VFS_DIRECTORY_RENAME_UNSUPPORTED. */
  atomicRename: boolean;
}

/** Everything a POSIX disk does (LocalVfs). */
export const FULL_CAPABILITIES: Readonly<VfsCapabilities> = Object.freeze({
  randomWrite: true,
  resume: true,
  symlinks: true,
  hardLinks: true,
  setMode: true,
  setTimes: true,
  statvfs: true,
  sync: true,
  atomicRename: true,
});

/**
 * The contract every backend keeps:
 * - Confinement: no sequence of calls, from any number of concurrent instances over one home,
 *   reads, writes, creates, renames, links or deletes anything outside it (LocalVfs: held
 *   folders checked by descriptor, docs/threat-model.md "Confinement"); a path that would leave
 *   it fails with ERR_VFS_ESCAPE.
 * - New names (openWrite of a missing name, mkdir, rename target, symlink, link) holding C0/C1
 *   control characters or DEL fail with ERR_VFS_INVALID_PATH; existing names stay usable.
 * - Resumed uploads ('keep', 'append' on an existing file) may fail with ERR_VFS_COPY_LIMIT when
 *   the home already holds LIMITS.resumeCopyBytesPerHome of copies in open uploads.
 * - Upload temporaries are named UPLOAD_TEMP_PREFIX*, never listed or addressable; those of a
 *   killed server are removed at the next start (LocalVfs.sweepUploadLeftovers).
 */
export interface Vfs {
  readonly capabilities: Readonly<VfsCapabilities>;
  stat(vpath: string): Promise<VfsStat>;
  lstat(vpath: string): Promise<VfsStat>;
  readdir(vpath: string): AsyncIterable<VfsDirEntry>;
  openRead(vpath: string): Promise<VfsFile>;
  openWrite(vpath: string, mode: WriteMode, options?: OpenWriteOptions): Promise<VfsUpload>;
  mkdir(vpath: string): Promise<void>;
  rmdir(vpath: string): Promise<void>;
  remove(vpath: string): Promise<void>;
  rename(from: string, to: string, overwrite: boolean): Promise<void>;
  setAttributes(vpath: string, attrs: VfsAttributes): Promise<void>;
  /** The canonical virtual path, symlinks resolved (the path need not exist). */
  realpath(vpath: string): Promise<string>;
  /** Creates `link` pointing at `target` (a virtual path or one relative to link's folder). */
  symlink(target: string, link: string): Promise<void>;
  readlink(vpath: string): Promise<string>;
  /** Hard link `newPath` to the existing file `existing`. */
  link(existing: string, newPath: string): Promise<void>;
  statvfs(vpath: string): Promise<VfsStatvfs>;
  /** The session ended: lets go of what the backend kept for it (LocalVfs: held folders). */
  close(): Promise<void>;
}
