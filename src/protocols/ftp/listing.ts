// Directory listings and time stamps in the forms FTP clients parse: `ls -l` lines for LIST,
// RFC 3659 facts for MLSD/MLST, YYYYMMDDHHMMSS (UTC) for MDTM and `modify`. Names are shown
// with control characters written as `\xHH` (SECURITY: terminal and line injection).
import type { Permission } from '../../session/permissions.ts';
import type { VfsStat } from '../../vfs/vfs.ts';
import { escapeControlChars } from '../display-name.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 86_400_000;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export function formatFtpTime(date: Date): string {
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

/** `YYYYMMDDHHMMSS[.sss]` (UTC) → Date, or null when malformed. */
export function parseFtpTime(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
}

function modeString(stat: VfsStat): string {
  const kind = stat.type === 'directory' ? 'd' : stat.type === 'symlink' ? 'l' : '-';
  const bits = 'rwxrwxrwx'
    .split('')
    .map((c, i) => (stat.mode & (0o400 >> i) ? c : '-'))
    .join('');
  return kind + bits;
}

/** One `ls -l` line. Owner and group are shown as the login name: no uid/gid disclosed. */
export function formatListLine(name: string, stat: VfsStat, owner: string, now = Date.now()): string {
  const t = stat.mtime;
  const recent = Math.abs(now - t.getTime()) < SIX_MONTHS_MS;
  const when = `${MONTHS[t.getUTCMonth()]} ${String(t.getUTCDate()).padStart(2, ' ')} ${recent ? `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}` : ` ${t.getUTCFullYear()}`}`;
  return `${modeString(stat)} ${String(stat.nlink).padStart(3, ' ')} ${owner} ${owner} ${String(stat.size).padStart(12, ' ')} ${when} ${escapeControlChars(name)}`;
}

/** RFC 3659 `perm` fact from the session's permissions. */
function permFact(stat: VfsStat, can: (p: Permission) => boolean): string {
  let p = '';
  if (stat.type === 'directory') {
    if (can('upload')) p += 'c';
    if (can('rmdir')) p += 'd';
    p += 'e';
    if (can('rename')) p += 'f';
    if (can('list')) p += 'l';
    if (can('mkdir')) p += 'm';
    if (can('delete')) p += 'p';
  } else {
    if (can('upload')) p += 'a';
    if (can('delete')) p += 'd';
    if (can('rename')) p += 'f';
    if (can('download')) p += 'r';
    if (can('overwrite')) p += 'w';
  }
  return p;
}

export type MlsxKind = 'entry' | 'cdir' | 'pdir';

/** `fact=value;…; name` (the caller adds the leading space MLST needs). */
export function formatMlsxLine(name: string, stat: VfsStat, can: (p: Permission) => boolean, kind: MlsxKind = 'entry'): string {
  const type = kind !== 'entry' ? kind : stat.type === 'directory' ? 'dir' : stat.type === 'file' ? 'file' : stat.type === 'symlink' ? 'OS.unix=symlink' : 'OS.unix=other';
  const facts = [`type=${type}`];
  if (stat.type === 'file') facts.push(`size=${stat.size}`);
  facts.push(`modify=${formatFtpTime(stat.mtime)}`, `perm=${permFact(stat, can)}`, `UNIX.mode=0${(stat.mode & 0o777).toString(8)}`);
  return `${facts.join(';')}; ${escapeControlChars(name)}`;
}

/** An NLST line: the name alone, control characters escaped. */
export function formatNameLine(name: string): string {
  return escapeControlChars(name);
}
