// Folders and files the local backend holds by descriptor (local.ts): a folder held open with
// O_PATH and addressed as /proc/self/fd/N/name, so that what was checked is what is used.
import fsCallbacks, { readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { fromSystemError } from '../errors/index.ts';

export const HAS_PROC_FD = process.platform === 'linux';
/** Linux O_PATH (the same value on every Linux architecture Node runs on); Node does not export it. */
export const O_PATH = 0o10000000;

/**
 * A folder held open (O_PATH) and checked to be inside the home. Every name below it is
 * addressed as /proc/self/fd/N/name: the kernel looks the name up in the held folder itself,
 * whatever has been renamed or swapped for a symlink on the path since it was checked.
 * Shared by reference count (an open upload and the session's cache of recent folders may
 * hold the same one); the descriptor is closed when the last holder lets go.
 * A plain descriptor, not a FileHandle: closing an O_PATH descriptor never waits on the disk
 * (nothing to flush), so it is closed at once, without a thread-pool round trip; and one left
 * behind by a bug is closed when collected (`unreleased`) where a FileHandle would crash the
 * process (Node 26 makes a FileHandle closed by the collector an uncaught error).
 */
export class HeldDir {
  private refs = 1;
  constructor(
    /** -1 where there is no /proc/self/fd (the real path is used instead). */
    readonly fd: number,
    readonly real: string,
  ) {
    if (fd >= 0) unreleased.register(this, fd, this);
  }

  at(name: string): string {
    return this.fd >= 0 ? `/proc/self/fd/${this.fd}/${name}` : path.join(this.real, name);
  }

  retain(): this {
    this.refs += 1;
    return this;
  }

  release(): void {
    this.refs -= 1;
    if (this.refs !== 0 || this.fd < 0) return;
    unreleased.unregister(this);
    closeFd(this.fd);
  }
}

export function closeFd(fd: number): void {
  try {
    fsCallbacks.closeSync(fd);
  } catch {
    // EBADF cannot happen (each descriptor is closed once); nothing else is reported for O_PATH
  }
}

const unreleased = new FinalizationRegistry<number>(closeFd);

/** open(2) through the callback form, for a plain descriptor (see HeldDir). */
export function openFd(p: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => fsCallbacks.open(p, flags, (err, fd) => (err ? reject(fromSystemError(err)) : resolve(fd))));
}

/** lstat answering null for a missing name. The callback form on purpose: the promise form
 * decorates every ENOENT with an async stack trace, which cost ~20 µs per new upload. */
export function lstatOrNull(p: string): Promise<Stats | null> {
  return new Promise((resolve, reject) => {
    fsCallbacks.lstat(p, (err, st) => {
      if (!err) resolve(st);
      else if (err.code === 'ENOENT') resolve(null);
      else reject(fromSystemError(err));
    });
  });
}

/** Where a descriptor is now, as the kernel names it (null: it cannot tell). Synchronous on
 * purpose: /proc/self/fd/N is answered from the kernel's own tables (see assertHandleInside). */
export function fdPath(fd: number): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

export async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromSystemError(err);
  }
}
