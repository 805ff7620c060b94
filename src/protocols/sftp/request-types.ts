// The shapes shared by the SFTP server loop (sftp-server.ts) and its request table
// (requests.ts): handles, parsed requests, table rows, and the "reply with this status" signal.
import type { Download, Upload } from '../../session/session.ts';
import type { VfsDirEntry } from '../../vfs/vfs.ts';
import type { StatusCode } from './constants.ts';
import type { SftpReader } from './packet.ts';
import type { SftpServer } from './sftp-server.ts';

export type FileHandle = { kind: 'read'; path: string; download: Download; inflight: number } | { kind: 'write'; path: string; upload: Upload; inflight: number };
export interface DirHandle {
  kind: 'dir';
  path: string;
  iterator: AsyncIterator<VfsDirEntry>;
  pending: VfsDirEntry | undefined;
  done: boolean;
  inflight: number;
}
export type Handle = FileHandle | DirHandle;

export interface Request {
  type: number;
  id: number;
  reader: SftpReader;
  /** The packet's bytes (possibly a pooled buffer, given back when the request is done). */
  payload: Buffer;
}

export interface RequestDef {
  name: string;
  /** Changes the filesystem: refused up front for a session without any write permission. */
  writes: boolean;
  /** May run in parallel with other requests of its kind. */
  parallel: boolean;
  run(this: SftpServer, req: Request): Promise<Buffer>;
}

/** A handler's way to say "answer this status" (not an error of the core). */
export class StatusReply extends Error {
  constructor(
    readonly code: StatusCode,
    message: string,
  ) {
    super(message);
  }
}

export const WRITE_PERMISSIONS = ['upload', 'overwrite', 'delete', 'rename', 'mkdir', 'rmdir', 'symlink', 'setstat'] as const;
