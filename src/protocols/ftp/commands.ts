// The FTP command table. Each row names the command, its handler and what the dispatcher checks
// before calling it (TLS, login, write access). Handlers parse their argument, call one Session
// method, and send one final reply; errors go through error-replies.ts. Unknown commands: 502.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { Readable, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PortcullisError } from '../../errors/index.ts';
import type { VfsCapabilities, VfsStat, WriteMode } from '../../vfs/vfs.ts';
import type { FtpConnection, UploadData } from './connection.ts';
import { replyForErrorCode } from './error-replies.ts';
import { checkActiveTarget, formatEpsvReply, formatPasvReply, parseEprtArgument, parsePortArgument } from './data-channel.ts';
import { formatFtpTime, formatListLine, formatMlsxLine, formatNameLine, parseFtpTime } from './listing.ts';
import { quotePath } from './replies.ts';

export type Handler = (c: FtpConnection, arg: string) => Promise<void> | void;

export interface CommandRow {
  name: string;
  handler: Handler;
  /** Needs a logged-in session. */
  needsAuth: boolean;
  /** Refused before AUTH TLS (unless ftps.allowPlaintext). */
  needsTls: boolean;
  /** Changes the filesystem (refused at once for read-only accounts). */
  writes: boolean;
}

const PRE_LOGIN = { needsAuth: false, needsTls: false, writes: false };
const TLS_ONLY = { needsAuth: false, needsTls: true, writes: false };
const READ = { needsAuth: true, needsTls: true, writes: false };
const WRITE = { needsAuth: true, needsTls: true, writes: true };

/** FEAT lines, each listed only when the storage has the capability it needs. */
const FEATURES: readonly { line: string; needs: keyof VfsCapabilities | null }[] = [
  { line: 'AUTH TLS', needs: null },
  { line: 'PBSZ', needs: null },
  { line: 'PROT', needs: null },
  { line: 'UTF8', needs: null },
  { line: 'EPSV', needs: null },
  { line: 'EPRT', needs: null },
  { line: 'PASV', needs: null },
  { line: 'SIZE', needs: null },
  { line: 'MDTM', needs: null },
  { line: 'MFMT', needs: 'setTimes' },
  { line: 'REST STREAM', needs: 'resume' },
  { line: 'TVFS', needs: null },
  { line: 'MLST type*;size*;modify*;perm*;UNIX.mode*;', needs: null },
  { line: 'HASH SHA-256*;SHA-512;SHA-1;MD5', needs: null },
];

/** The FEAT reply's lines for a storage (FEAT comes before login: the configured storage's). */
export function featuresFor(caps: Readonly<VfsCapabilities>): string[] {
  return FEATURES.filter((f) => f.needs === null || caps[f.needs]).map((f) => f.line);
}
const HASH_ALGORITHMS = { 'SHA-256': 'sha256', 'SHA-512': 'sha512', 'SHA-1': 'sha1', MD5: 'md5' } as const;

function requirePath(arg: string): string {
  if (arg === '') throw new PortcullisError('ERR_PROTOCOL_MALFORMED', 'a path is required');
  return arg;
}

function resolve(c: FtpConnection, arg: string): string {
  return c.session!.resolvePath(arg, c.cwd);
}

/** `LIST -la dir` → `dir`: leading option words are not paths (lftp, many GUIs send them). */
export function stripListOptions(arg: string): string {
  let rest = arg.trim();
  while (/^-[A-Za-z0-9]+(\s|$)/.test(rest)) rest = rest.replace(/^-[A-Za-z0-9]+\s*/, '');
  return rest;
}

/**
 * Destroys a file stream and waits for it to let go of its FileHandle. (A stream opened with
 * autoClose:false keeps a reference on its FileHandle; FileHandle.close() would wait for it.)
 */
function releaseStream(s: Readable | Writable): Promise<void> {
  if (s.closed) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('close', () => resolve());
    s.destroy();
  });
}

async function sendLines(data: Duplex, lines: AsyncIterable<string>, signal: AbortSignal): Promise<void> {
  async function* chunks(): AsyncIterable<Buffer> {
    let buf = '';
    for await (const l of lines) {
      buf += `${l}\r\n`;
      if (buf.length >= 64 * 1024) {
        yield Buffer.from(buf);
        buf = '';
      }
    }
    if (buf) yield Buffer.from(buf);
  }
  await pipeline(Readable.from(chunks()), data, { signal });
}

type ListStyle = 'list' | 'nlst' | 'mlsd';

async function listing(c: FtpConnection, arg: string, style: ListStyle): Promise<void> {
  const session = c.session!;
  const target = resolve(c, style === 'mlsd' ? arg : stripListOptions(arg));
  if (!c.checkDataReady()) return;
  let stat: VfsStat;
  try {
    stat = await session.stat(target);
  } catch (err) {
    c.closeDataSetup();
    throw err;
  }
  if (style === 'mlsd' && stat.type !== 'directory') {
    c.closeDataSetup();
    c.reply(501, 'Not a directory');
    return;
  }
  const can = (p: Parameters<typeof session.can>[0]): boolean => session.can(p);
  const owner = session.user.name;
  const format = (name: string, st: VfsStat): string => (style === 'list' ? formatListLine(name, st, owner) : style === 'mlsd' ? formatMlsxLine(name, st, can) : formatNameLine(name));
  async function* lines(): AsyncIterable<string> {
    if (stat.type !== 'directory') {
      yield format(path.posix.basename(target), stat);
      return;
    }
    if (style === 'mlsd') yield formatMlsxLine('.', stat, can, 'cdir');
    for await (const e of session.list(target)) yield format(e.name, e.stat);
  }
  await c.runTransfer(async (signal) => {
    c.reply(150, 'Opening data connection for directory listing');
    const data = await c.openData(signal);
    try {
      await sendLines(data, lines(), signal);
      c.reply(226, 'Directory send OK');
    } catch (err) {
      data.destroy();
      if (signal.aborted || !(err instanceof PortcullisError)) c.reply(426, 'Connection closed; transfer aborted');
      else throw err;
    }
  });
}

async function retrieve(c: FtpConnection, arg: string): Promise<void> {
  const p = resolve(c, requirePath(arg));
  const offset = c.restOffset;
  if (!c.checkDataReady()) return;
  const download = await c.session!.openRead(p).catch((err: unknown) => {
    c.closeDataSetup();
    throw err;
  });
  await c.runTransfer(async (signal) => {
    c.reply(150, 'Opening BINARY mode data connection');
    let data: Duplex;
    try {
      data = await c.openData(signal);
    } catch (err) {
      await download.finish(false);
      throw err;
    }
    const source = download.createReadStream(offset) as NodeJS.ReadableStream & Readable;
    try {
      await pipeline(source, data, { signal });
      await releaseStream(source);
      await download.finish(true);
      c.reply(226, 'Transfer complete');
    } catch {
      data.destroy();
      await releaseStream(source);
      await download.finish(false);
      c.reply(426, 'Connection closed; transfer aborted');
    }
  });
}

async function store(c: FtpConnection, p: string, mode: WriteMode, offset: number, preliminary: string): Promise<void> {
  if (!c.checkDataReady()) return;
  const upload = await c.session!.openWrite(p, mode).catch((err: unknown) => {
    c.closeDataSetup();
    throw err;
  });
  await c.runTransfer(async (signal) => {
    c.reply(150, preliminary);
    let opened: UploadData;
    try {
      opened = await c.openUploadData(signal);
    } catch (err) {
      await upload.abort();
      throw err;
    }
    const { data, endedCleanly } = opened;
    const sink = upload.createWriteStream(offset) as NodeJS.WritableStream & Writable;
    try {
      // Read to the end of the data stream (TLS close_notify; FIN without TLS) before
      // answering: a client that closes right after its last byte loses nothing.
      await pipeline(data, sink, { signal });
      await releaseStream(sink);
    } catch (err) {
      data.destroy();
      await releaseStream(sink);
      // SECURITY: a data connection cut without close_notify (a killed client, a forged FIN)
      // is a truncated upload: discarded, audited as such, and answered 426.
      const truncated = err instanceof PortcullisError && err.code === 'ERR_PROTOCOL_TLS_TRUNCATED';
      await upload.abort(truncated ? 'ERR_PROTOCOL_TLS_TRUNCATED' : 'ERR_VFS_TRANSFER_ABORTED');
      const r = replyForErrorCode(truncated ? 'ERR_PROTOCOL_TLS_TRUNCATED' : 'ERR_VFS_TRANSFER_ABORTED');
      c.reply(r.code, r.text);
      return;
    }
    // SECURITY: only an upload whose end is the client's own is committed (see openUploadData).
    if (!(await endedCleanly())) {
      await upload.abort('ERR_SESSION_CLOSED');
      return;
    }
    await upload.commit();
    c.reply(226, 'Transfer complete');
  });
}

async function hashFile(c: FtpConnection, arg: string): Promise<void> {
  const p = resolve(c, requirePath(arg));
  const download = await c.session!.openRead(p);
  const hash = createHash(HASH_ALGORITHMS[c.hashAlgorithm]);
  let ok = false;
  try {
    for await (const chunk of download.createReadStream(0) as AsyncIterable<Buffer>) hash.update(chunk);
    ok = true;
  } finally {
    await download.finish(ok);
  }
  c.reply(213, `${c.hashAlgorithm} 0-${download.bytes} ${hash.digest('hex')} ${p}`);
}

async function changeDir(c: FtpConnection, target: string): Promise<void> {
  const p = resolve(c, target);
  const st = await c.session!.stat(p);
  if (st.type !== 'directory') throw new PortcullisError('ERR_VFS_NOT_A_DIRECTORY');
  c.cwd = p;
  c.reply(250, 'Directory successfully changed');
}

function refuseBounce(c: FtpConnection, target: { address: string; port: number }, why: string): void {
  c.core.audit.emit({ type: 'conn.refused', connectionId: c.ctx.id, protocol: c.ctx.protocol, remoteAddress: target.address, code: 'ERR_ADMISSION_DENIED', rule: `ftps.active.${why}` });
  c.reply(501, 'Active mode only to your own address and ports 1024 and above');
}

function setActive(c: FtpConnection, target: { address: string; port: number } | null): void {
  if (!target) {
    c.reply(501, 'Syntax error in PORT/EPRT argument');
    return;
  }
  const check = checkActiveTarget(target, c.ctx.remoteAddress);
  if (check !== 'ok') {
    refuseBounce(c, target, check);
    return;
  }
  c.setActive(target.address, target.port);
  c.reply(200, 'Active data connection set');
}

const TABLE: CommandRow[] = [
  // --- before login ---
  {
    name: 'AUTH',
    ...PRE_LOGIN,
    handler: async (c, arg) => {
      const mech = arg.trim().toUpperCase();
      if (c.secure) return c.reply(503, 'Already using TLS');
      if (mech !== 'TLS' && mech !== 'TLS-C' && mech !== 'SSL') return c.reply(504, 'Only AUTH TLS is supported');
      await c.upgradeToTls();
    },
  },
  { name: 'FEAT', ...PRE_LOGIN, handler: (c) => c.reply(211, ['Features:', ...featuresFor(c.core.storage.capabilities), 'End']) },
  { name: 'SYST', ...PRE_LOGIN, handler: (c) => c.reply(215, 'UNIX Type: L8') },
  { name: 'NOOP', ...PRE_LOGIN, handler: (c) => c.reply(200, 'NOOP ok') },
  { name: 'QUIT', ...PRE_LOGIN, handler: (c) => c.quit() },
  {
    name: 'HELP',
    ...PRE_LOGIN,
    handler: (c) => {
      const names = TABLE.map((r) => r.name);
      const rows: string[] = [];
      for (let i = 0; i < names.length; i += 10) rows.push(names.slice(i, i + 10).join(' '));
      c.reply(214, ['The following commands are recognized:', ...rows, 'Help OK']);
    },
  },
  {
    name: 'PBSZ',
    ...TLS_ONLY,
    handler: (c, arg) => {
      if (!c.secure) return c.reply(503, 'PBSZ needs AUTH TLS first');
      if (!/^\d+$/.test(arg.trim())) return c.reply(501, 'PBSZ needs a number');
      c.pbsz = true;
      c.reply(200, 'PBSZ=0');
    },
  },
  {
    name: 'PROT',
    ...TLS_ONLY,
    handler: (c, arg) => {
      if (!c.secure) return c.reply(503, 'PROT needs AUTH TLS first');
      if (!c.pbsz) return c.reply(503, 'PBSZ first');
      // SECURITY: data is always encrypted: PROT C (clear), S and E are refused.
      if (arg.trim().toUpperCase() !== 'P') return c.reply(534, 'Only PROT P is allowed: data connections must be encrypted');
      c.prot = 'P';
      c.reply(200, 'PROT now Private');
    },
  },
  { name: 'CCC', ...TLS_ONLY, handler: (c) => c.reply(534, 'CCC refused: the control connection stays encrypted') },
  {
    name: 'USER',
    ...TLS_ONLY,
    handler: (c, arg) => {
      if (c.session) return c.reply(503, 'Already logged in');
      if (arg === '') return c.reply(501, 'USER needs a name');
      c.userName = arg;
      c.reply(331, 'Please specify the password');
    },
  },
  { name: 'PASS', ...TLS_ONLY, handler: (c, arg) => (c.session ? c.reply(230, 'Already logged in') : c.login(arg)) },
  {
    name: 'OPTS',
    ...TLS_ONLY,
    handler: (c, arg) => {
      const [opt = '', ...rest] = arg.trim().split(/\s+/);
      const value = rest.join(' ');
      switch (opt.toUpperCase()) {
        case 'UTF8':
        case 'UTF-8':
          return value.toUpperCase() === 'OFF' ? c.reply(504, 'UTF-8 cannot be turned off') : c.reply(200, 'Always in UTF8 mode');
        case 'MLST':
          return c.reply(200, 'MLST OPTS type;size;modify;perm;UNIX.mode;');
        case 'HASH': {
          if (value === '') return c.reply(200, c.hashAlgorithm);
          const alg = value.toUpperCase();
          if (!Object.hasOwn(HASH_ALGORITHMS, alg)) return c.reply(501, 'Unknown hash algorithm');
          c.hashAlgorithm = alg as keyof typeof HASH_ALGORITHMS;
          return c.reply(200, alg);
        }
        default:
          return c.reply(501, 'Option not understood');
      }
    },
  },
  // --- session state ---
  { name: 'PWD', ...READ, handler: (c) => c.reply(257, `${quotePath(c.cwd)} is the current directory`) },
  { name: 'CWD', ...READ, handler: (c, arg) => changeDir(c, requirePath(arg)) },
  { name: 'CDUP', ...READ, handler: (c) => changeDir(c, '..') },
  {
    name: 'TYPE',
    ...READ,
    handler: (c, arg) => {
      const t = arg.trim().toUpperCase().replace(/\s+/g, ' ');
      if (t === 'I' || t === 'L 8') return c.reply(200, 'Switching to Binary mode');
      if (t === 'A' || t === 'A N') return c.reply(200, 'Switching to ASCII mode (data is sent unchanged)');
      c.reply(504, 'Type not supported');
    },
  },
  { name: 'MODE', ...READ, handler: (c, arg) => (arg.trim().toUpperCase() === 'S' ? c.reply(200, 'Mode set to S') : c.reply(504, 'Only stream mode is supported')) },
  { name: 'STRU', ...READ, handler: (c, arg) => (arg.trim().toUpperCase() === 'F' ? c.reply(200, 'Structure set to F') : c.reply(504, 'Only file structure is supported')) },
  {
    name: 'REST',
    ...READ,
    handler: (c, arg) => {
      if (!/^\d{1,15}$/.test(arg.trim())) return c.reply(501, 'REST needs a byte offset');
      c.restOffset = Number(arg.trim());
      c.reply(350, `Restarting at ${c.restOffset}`);
    },
  },
  // --- data connection set-up ---
  {
    name: 'PASV',
    ...READ,
    handler: async (c) => {
      const announce = c.core.config.ftps.passiveAddress ?? c.ctx.localAddress;
      if (!net.isIPv4(announce)) return c.reply(425, 'PASV needs IPv4; use EPSV');
      const port = await c.openPassive();
      c.reply(227, formatPasvReply(announce, port));
    },
  },
  {
    name: 'EPSV',
    ...READ,
    handler: async (c, arg) => {
      const a = arg.trim().toUpperCase();
      if (a === 'ALL') return c.reply(200, 'EPSV ALL ok');
      if (a !== '' && a !== '1' && a !== '2') return c.reply(522, 'Network protocol not supported, use (1,2)');
      const port = await c.openPassive();
      c.reply(229, formatEpsvReply(port));
    },
  },
  { name: 'PORT', ...READ, handler: (c, arg) => setActive(c, parsePortArgument(arg)) },
  { name: 'EPRT', ...READ, handler: (c, arg) => setActive(c, parseEprtArgument(arg.trim())) },
  // --- listings and information ---
  { name: 'LIST', ...READ, handler: (c, arg) => listing(c, arg, 'list') },
  { name: 'NLST', ...READ, handler: (c, arg) => listing(c, arg, 'nlst') },
  { name: 'MLSD', ...READ, handler: (c, arg) => listing(c, arg, 'mlsd') },
  {
    name: 'MLST',
    ...READ,
    handler: async (c, arg) => {
      const p = resolve(c, arg || '.');
      // The session as it was when the command started: the connection may close (and drop
      // it) while stat runs (found by scripts/fuzz.ts).
      const session = c.session!;
      const st = await session.stat(p);
      c.reply(250, [`Listing ${p}`, formatMlsxLine(p, st, (x) => session.can(x)), 'End']);
    },
  },
  {
    name: 'SIZE',
    ...READ,
    handler: async (c, arg) => {
      const st = await c.session!.stat(resolve(c, requirePath(arg)));
      if (st.type !== 'file') return c.reply(550, 'Not a regular file');
      c.reply(213, String(st.size));
    },
  },
  {
    name: 'MDTM',
    ...READ,
    handler: async (c, arg) => {
      const st = await c.session!.stat(resolve(c, requirePath(arg)));
      c.reply(213, formatFtpTime(st.mtime));
    },
  },
  { name: 'HASH', ...READ, handler: (c, arg) => hashFile(c, arg) },
  {
    name: 'STAT',
    ...PRE_LOGIN,
    handler: async (c, arg) => {
      if (arg === '' || !c.session) {
        const lines = ['FTPS server status:', `Connected from ${c.ctx.remoteAddress}`, c.secure ? 'Control connection is encrypted' : 'Control connection is NOT encrypted', c.session ? `Logged in as ${c.session.user.name}` : 'Not logged in', `Data protection: ${c.prot === 'P' ? 'private' : 'none'}`, 'End of status'];
        return c.reply(211, lines);
      }
      const session = c.session;
      const p = resolve(c, stripListOptions(arg));
      const st = await session.stat(p);
      const owner = session.user.name;
      // Streamed with back-pressure: a big folder is never held whole (issue 14.10).
      async function* lines(): AsyncIterable<string> {
        if (st.type !== 'directory') yield formatListLine(path.posix.basename(p), st, owner);
        else for await (const e of session.list(p)) yield formatListLine(e.name, e.stat, owner);
      }
      await c.replyStream(213, `Status of ${p}:`, lines(), 'End of status');
    },
  },
  // --- transfers ---
  { name: 'RETR', ...READ, handler: (c, arg) => retrieve(c, arg) },
  {
    name: 'STOR',
    ...WRITE,
    handler: (c, arg) => {
      const p = resolve(c, requirePath(arg));
      const offset = c.restOffset;
      return store(c, p, offset > 0 ? 'keep' : 'truncate', offset, 'Ok to send data');
    },
  },
  { name: 'APPE', ...WRITE, handler: (c, arg) => store(c, resolve(c, requirePath(arg)), 'append', 0, 'Ok to send data') },
  {
    name: 'STOU',
    ...WRITE,
    handler: (c) => {
      const name = `upload-${Date.now()}-${randomBytes(4).toString('hex')}`;
      const p = resolve(c, name);
      return store(c, p, 'exclusive', 0, `FILE: ${name}`);
    },
  },
  // --- changes ---
  {
    name: 'MKD',
    ...WRITE,
    handler: async (c, arg) => {
      const p = resolve(c, requirePath(arg));
      await c.session!.mkdir(p);
      c.reply(257, `${quotePath(p)} created`);
    },
  },
  {
    name: 'RMD',
    ...WRITE,
    handler: async (c, arg) => {
      await c.session!.rmdir(resolve(c, requirePath(arg)));
      c.reply(250, 'Remove directory operation successful');
    },
  },
  {
    name: 'DELE',
    ...WRITE,
    handler: async (c, arg) => {
      await c.session!.remove(resolve(c, requirePath(arg)));
      c.reply(250, 'Delete operation successful');
    },
  },
  {
    name: 'RNFR',
    ...WRITE,
    handler: async (c, arg) => {
      const p = resolve(c, requirePath(arg));
      await c.session!.lstat(p);
      c.renameFrom = p;
      c.reply(350, 'Ready for RNTO');
    },
  },
  {
    name: 'RNTO',
    ...WRITE,
    handler: async (c, arg) => {
      const from = c.renameFrom;
      if (!from) return c.reply(503, 'RNFR required first');
      await c.session!.rename(from, resolve(c, requirePath(arg)), { overwrite: true });
      c.reply(250, 'Rename successful');
    },
  },
  {
    name: 'MFMT',
    ...WRITE,
    handler: async (c, arg) => {
      const m = /^(\S+) (.+)$/.exec(arg);
      const when = m ? parseFtpTime(m[1]!) : null;
      if (!m || !when) return c.reply(501, 'MFMT needs YYYYMMDDHHMMSS and a path');
      const p = resolve(c, m[2]!);
      await c.session!.setAttributes(p, { mtime: when, atime: when });
      c.reply(213, `Modify=${formatFtpTime(when)}; ${p}`);
    },
  },
  {
    name: 'ABOR',
    ...READ,
    // Reached only when no transfer runs (a running one is aborted before the queue).
    handler: (c) => c.reply(226, 'No transfer to abort'),
  },
];

const ALIASES: Record<string, string> = { XPWD: 'PWD', XCWD: 'CWD', XCUP: 'CDUP', XMKD: 'MKD', XRMD: 'RMD' };

export const COMMANDS: ReadonlyMap<string, CommandRow> = new Map([...TABLE.map((r) => [r.name, r] as const), ...Object.entries(ALIASES).map(([alias, name]) => [alias, { ...TABLE.find((r) => r.name === name)!, name: alias }] as const)]);
