// SFTP version 3 wire constants (draft-ietf-secsh-filexfer-02) and the OpenSSH extensions
// we advertise (PROTOCOL in the OpenSSH sources). Protocol vocabulary stays in this folder.

import type { VfsCapabilities } from '../../vfs/vfs.ts';

export const SFTP_VERSION = 3;

/** length, type, id, data length: the bytes before the data of a DATA reply. */
export const DATA_HEADER_BYTES = 4 + 1 + 4 + 4;

export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

export const STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;
export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

export const OPEN_FLAGS = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

export const ATTR_FLAGS = {
  SIZE: 0x01,
  UIDGID: 0x02,
  PERMISSIONS: 0x04,
  ACMODTIME: 0x08,
  EXTENDED: 0x80000000,
} as const;

/** Extensions advertised in VERSION, with their version strings (as OpenSSH sends them). */
/** Extensions, each advertised (and served) only when the storage has the capability it needs. */
export const EXTENSIONS: readonly { name: string; version: string; needs: keyof VfsCapabilities | null }[] = [
  { name: 'posix-rename@openssh.com', version: '1', needs: 'atomicRename' },
  { name: 'statvfs@openssh.com', version: '2', needs: 'statvfs' },
  { name: 'fstatvfs@openssh.com', version: '2', needs: 'statvfs' },
  { name: 'hardlink@openssh.com', version: '1', needs: 'hardLinks' },
  { name: 'fsync@openssh.com', version: '1', needs: 'sync' },
  { name: 'limits@openssh.com', version: '1', needs: null },
];

/** The extensions a storage with `caps` supports (advertised in VERSION, served in EXTENDED). */
export function extensionsFor(caps: Readonly<VfsCapabilities>): Set<string> {
  return new Set(EXTENSIONS.filter((e) => e.needs === null || caps[e.needs]).map((e) => e.name));
}

/** statvfs f_flag bits. */
export const ST_RDONLY = 0x1;
export const ST_NOSUID = 0x2;
