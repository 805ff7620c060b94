// SFTP v3 ATTRS: parsing what clients send (SETSTAT, OPEN, MKDIR) and encoding what we
// report (STAT, READDIR), plus the `ls -l` style long name OpenSSH's `ls -l` prints.
import { LIMITS } from '../../config/limits.ts';
import type { VfsAttributes, VfsStat } from '../../vfs/vfs.ts';
import { escapeControlChars } from '../display-name.ts';
import { ATTR_FLAGS } from './constants.ts';
import { MalformedPacketError, type PacketWriter, type SftpReader } from './packet.ts';

const TYPE_BITS: Record<VfsStat['type'], number> = { file: 0o100000, directory: 0o040000, symlink: 0o120000, other: 0 };

export interface ParsedAttrs extends VfsAttributes {
  /** uid/gid were sent; we never change ownership, but the request is not an error. */
  ownerRequested?: boolean;
}

const MAX_EXTENDED_ATTRS = LIMITS.sftpMaxExtendedAttributes;

export function parseAttrs(r: SftpReader): ParsedAttrs {
  const flags = r.u32('attr flags');
  const out: ParsedAttrs = {};
  if (flags & ATTR_FLAGS.SIZE) out.size = r.u64('attr size');
  if (flags & ATTR_FLAGS.UIDGID) {
    r.u32('uid');
    r.u32('gid');
    out.ownerRequested = true;
  }
  // Quirk 9: curl sends file-type bits (0100644); only the permission bits matter.
  if (flags & ATTR_FLAGS.PERMISSIONS) out.mode = r.u32('permissions') & 0o7777;
  if (flags & ATTR_FLAGS.ACMODTIME) {
    out.atime = new Date(r.u32('atime') * 1000);
    out.mtime = new Date(r.u32('mtime') * 1000);
  }
  if (flags & ATTR_FLAGS.EXTENDED) {
    const count = r.u32('extended count');
    if (count > MAX_EXTENDED_ATTRS) throw new MalformedPacketError(`${count} extended attributes`);
    for (let i = 0; i < count; i++) {
      r.bytes('extended type');
      r.bytes('extended data');
    }
  }
  return out;
}

export function encodeAttrs(w: PacketWriter, st: VfsStat): PacketWriter {
  w.u32(ATTR_FLAGS.SIZE | ATTR_FLAGS.UIDGID | ATTR_FLAGS.PERMISSIONS | ATTR_FLAGS.ACMODTIME);
  w.u64(st.size);
  w.u32(st.uid).u32(st.gid);
  w.u32(TYPE_BITS[st.type] | (st.mode & 0o777));
  w.u32(Math.floor(st.atime.getTime() / 1000)).u32(Math.floor(st.mtime.getTime() / 1000));
  return w;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function permString(st: VfsStat): string {
  const t = st.type === 'directory' ? 'd' : st.type === 'symlink' ? 'l' : st.type === 'file' ? '-' : '?';
  let s = t;
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (st.mode >> shift) & 7;
    s += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  return s;
}

/** `-rw-r--r--    1 alice    alice        1024 Jan 02 15:04 name` (OpenSSH's ls_file layout). */
export function formatLongname(name: string, st: VfsStat, owner: string, now = Date.now()): string {
  const m = st.mtime;
  const sixMonths = 182 * 86_400_000;
  const recent = Math.abs(now - m.getTime()) < sixMonths;
  const day = String(m.getUTCDate()).padStart(2, '0');
  const when = recent
    ? `${MONTHS[m.getUTCMonth()]} ${day} ${String(m.getUTCHours()).padStart(2, '0')}:${String(m.getUTCMinutes()).padStart(2, '0')}`
    : `${MONTHS[m.getUTCMonth()]} ${day}  ${m.getUTCFullYear()}`;
  const o = owner.padEnd(8);
  // SECURITY: the longname is for display: control characters are escaped (terminal injection).
  return `${permString(st)} ${String(st.nlink).padStart(4)} ${o} ${o} ${String(st.size).padStart(8)} ${when} ${escapeControlChars(name)}`;
}
