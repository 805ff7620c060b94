// The open files of the local backend (local.ts): a download's handle, and an upload written to
// a temporary name in its held folder and renamed over the final name on commit.
import type { Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { fromSystemError, PortcullisError } from '../errors/index.ts';
import { type HeldDir, wrap } from './held-dir.ts';
import type { VfsAttributes, VfsFile, VfsStat, VfsUpload } from './vfs.ts';

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

export async function applyAttributes(target: string | FileHandle, attrs: VfsAttributes): Promise<void> {
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

export class LocalFile implements VfsFile {
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

export class LocalUpload extends LocalFile implements VfsUpload {
  private settled = false;

  constructor(
    handle: FileHandle,
    private readonly dir: HeldDir,
    private readonly tempName: string,
    private readonly finalName: string,
    private appendAt: number | null,
    private readonly release: () => void,
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
      await fs.rename(this.dir.at(this.tempName), this.dir.at(this.finalName));
    } catch (err) {
      await this.close();
      await fs.unlink(this.dir.at(this.tempName)).catch(() => undefined);
      throw fromSystemError(err);
    } finally {
      this.dir.release();
      this.release();
    }
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.close();
    await fs.unlink(this.dir.at(this.tempName)).catch(() => undefined);
    this.dir.release();
    this.release();
  }
}
