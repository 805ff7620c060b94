// Virtual paths: what the user sees, always absolute from their home ("/" is the home).
// parseVirtualPath turns untrusted client input into a normalised virtual path. It can never
// produce a path above "/": ".." at the root stays at the root (chroot semantics).
import path from 'node:path';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';

/** Prefix of in-flight upload files; reserved, hidden from listings, never addressable. */
export const UPLOAD_TEMP_PREFIX = '.portcullis-upload-';

export function parseVirtualPath(input: string, cwd = '/'): string {
  if (typeof input !== 'string') throw new PortcullisError('ERR_VFS_INVALID_PATH', 'not a string');
  // SECURITY: NUL truncates paths in C APIs; CR/LF would forge lines in FTP listings and logs.
  if (/[\0\r\n]/.test(input)) throw new PortcullisError('ERR_VFS_INVALID_PATH', 'contains NUL or line breaks');
  if (Buffer.byteLength(input) > LIMITS.maxPathBytes) throw new PortcullisError('ERR_VFS_NAME_TOO_LONG', `path over ${LIMITS.maxPathBytes} bytes`);
  // SECURITY: a backslash is a separator for Windows clients; treating it as one means
  // "..\..\etc" is normalised like "../../etc" instead of reaching the OS unexamined.
  const unified = input.replace(/\\/g, '/');
  const start = unified.startsWith('/') ? [] : splitSegments(cwd);
  const out: string[] = start;
  for (const seg of unified.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      out.pop(); // SECURITY: clamps at the root
      continue;
    }
    if (Buffer.byteLength(seg) > LIMITS.maxNameBytes) throw new PortcullisError('ERR_VFS_NAME_TOO_LONG', `a name is over ${LIMITS.maxNameBytes} bytes`);
    if (seg.startsWith(UPLOAD_TEMP_PREFIX)) throw new PortcullisError('ERR_VFS_INVALID_PATH', 'names starting with .portcullis-upload- are reserved');
    out.push(seg);
  }
  if (out.length > LIMITS.maxPathDepth) throw new PortcullisError('ERR_VFS_NAME_TOO_LONG', `deeper than ${LIMITS.maxPathDepth} levels`);
  return `/${out.join('/')}`;
}

function splitSegments(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

export function virtualDirname(vpath: string): string {
  return path.posix.dirname(vpath);
}

export function virtualBasename(vpath: string): string {
  return path.posix.basename(vpath);
}
