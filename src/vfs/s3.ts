// S3-compatible object storage backend (AWS S3, MinIO, Ceph RGW, Garage, s3rver...). One user
// is one key prefix in one bucket; a virtual path "/a/b" is the key PREFIX + "a/b" and a folder
// is a key prefix, made visible when empty by a marker object "PREFIX + a/". What object storage
// cannot do (docs/storage.md) is left out of `capabilities`, so protocols never advertise it.
import { randomBytes } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';
import { assertNewName } from './local.ts';
import type { OpenWriteOptions, Vfs, VfsAttributes, VfsCapabilities, VfsDirEntry, VfsFile, VfsStat, VfsStatvfs, VfsUpload, WriteMode } from './vfs.ts';
import { parseVirtualPath, UPLOAD_TEMP_PREFIX } from './virtual-path.ts';

export const S3_CAPABILITIES: Readonly<VfsCapabilities> = Object.freeze({
  randomWrite: false,
  resume: false,
  symlinks: false,
  hardLinks: false,
  setMode: false,
  setTimes: false,
  statvfs: false,
  sync: false,
  atomicRename: false,
});

/** What the SDK says went wrong, as a catalogue error (the SDK's own error is the cause). */
const S3_ERRORS: Record<string, PortcullisError['code']> = {
  NoSuchKey: 'ERR_VFS_NOT_FOUND',
  NotFound: 'ERR_VFS_NOT_FOUND',
  NoSuchUpload: 'ERR_VFS_TRANSFER_ABORTED',
  AccessDenied: 'ERR_PERMISSION_DENIED',
  EntityTooLarge: 'ERR_VFS_NO_SPACE',
};

export function fromS3Error(err: unknown): PortcullisError {
  if (err instanceof PortcullisError) return err;
  const name = (err as { name?: string } | null)?.name ?? '';
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const code = S3_ERRORS[name] ?? (status === 404 ? 'ERR_VFS_NOT_FOUND' : 'ERR_VFS_IO');
  // SECURITY: the detail names the S3 error only, never the bucket, key or credentials.
  return new PortcullisError(code, name ? `object storage: ${name}` : 'object storage request failed', { cause: err });
}

async function s3<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromS3Error(err);
  }
}

function dirStat(): VfsStat {
  const epoch = new Date(0);
  return { type: 'directory', size: 0, mode: 0o755, mtime: epoch, atime: epoch, uid: 0, gid: 0, nlink: 1 };
}

function fileStat(size: number, mtime: Date | undefined): VfsStat {
  const t = mtime ?? new Date(0);
  return { type: 'file', size, mode: 0o644, mtime: t, atime: t, uid: 0, gid: 0, nlink: 1 };
}

export interface S3VfsOptions {
  client: S3Client;
  bucket: string;
  /** This user's key prefix, ending in "/" (the factory builds it from storage.prefix). */
  prefix: string;
  /** Folder for spooled out-of-order writes (created 0700). */
  spoolDir: string;
}

export class S3Vfs implements Vfs {
  readonly capabilities = S3_CAPABILITIES;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly spoolDir: string;

  constructor(options: S3VfsOptions) {
    // SECURITY: a prefix not ending in "/" would let user "bob" see "bobby/" as well.
    if (!options.prefix.endsWith('/') || options.prefix === '/') throw new PortcullisError('ERR_CONFIG_INVALID', 'an S3 user prefix must end with "/" and not be "/" alone');
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.spoolDir = options.spoolDir;
  }

  /** SECURITY: the only way from a virtual path to a key. parseVirtualPath clamps ".." at the
   * root, so every key starts with this user's prefix. */
  private key(vpath: string): string {
    const v = parseVirtualPath(vpath);
    return this.prefix + v.slice(1);
  }

  /** The key prefix of a folder: "" below the user's prefix for "/", else "a/b/". */
  private dirKey(vpath: string): string {
    const v = parseVirtualPath(vpath);
    return v === '/' ? this.prefix : `${this.prefix}${v.slice(1)}/`;
  }

  private async head(key: string): Promise<{ size: number; mtime: Date | undefined } | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: r.ContentLength ?? 0, mtime: r.LastModified };
    } catch (err) {
      const e = fromS3Error(err);
      if (e.code === 'ERR_VFS_NOT_FOUND') return null;
      throw e;
    }
  }

  /** A folder exists when its marker or any key below it does. */
  private async dirExists(vpath: string): Promise<boolean> {
    if (parseVirtualPath(vpath) === '/') return true;
    const r = await s3(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.dirKey(vpath), MaxKeys: 1 })));
    return (r.KeyCount ?? r.Contents?.length ?? 0) > 0 || (r.CommonPrefixes?.length ?? 0) > 0;
  }

  private async lookup(vpath: string): Promise<VfsStat | null> {
    const v = parseVirtualPath(vpath);
    if (v === '/') return dirStat();
    const file = await this.head(this.key(v));
    if (file) return fileStat(file.size, file.mtime);
    return (await this.dirExists(v)) ? dirStat() : null;
  }

  async stat(vpath: string): Promise<VfsStat> {
    const st = await this.lookup(vpath);
    if (!st) throw new PortcullisError('ERR_VFS_NOT_FOUND');
    return st;
  }

  lstat(vpath: string): Promise<VfsStat> {
    return this.stat(vpath);
  }

  private async assertParentDir(vpath: string): Promise<void> {
    const parent = path.posix.dirname(parseVirtualPath(vpath));
    if (parent === '/') return;
    if (await this.head(this.key(parent))) throw new PortcullisError('ERR_VFS_NOT_A_DIRECTORY');
    if (!(await this.dirExists(parent))) throw new PortcullisError('ERR_VFS_NOT_FOUND');
  }

  /** Streams ListObjectsV2 pages (1000 keys at most each): never all keys in memory. */
  async *readdir(vpath: string): AsyncIterable<VfsDirEntry> {
    const v = parseVirtualPath(vpath);
    const prefix = this.dirKey(v);
    let token: string | undefined;
    let first = true;
    do {
      const page = await s3(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token })));
      if (first && v !== '/' && !page.Contents?.length && !page.CommonPrefixes?.length) {
        // No key below: a file of that name, or nothing.
        throw new PortcullisError((await this.head(this.key(v))) ? 'ERR_VFS_NOT_A_DIRECTORY' : 'ERR_VFS_NOT_FOUND');
      }
      first = false;
      for (const p of page.CommonPrefixes ?? []) {
        const name = p.Prefix?.slice(prefix.length, -1) ?? '';
        if (listable(name)) yield { name, stat: dirStat() };
      }
      for (const o of page.Contents ?? []) {
        const name = o.Key?.slice(prefix.length) ?? '';
        if (listable(name)) yield { name, stat: fileStat(o.Size ?? 0, o.LastModified) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async openRead(vpath: string): Promise<VfsFile> {
    const v = parseVirtualPath(vpath);
    const file = await this.head(this.key(v));
    if (!file) {
      if (await this.dirExists(v)) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
      throw new PortcullisError('ERR_VFS_NOT_FOUND');
    }
    return new S3File(this.client, this.bucket, this.key(v), fileStat(file.size, file.mtime));
  }

  async openWrite(vpath: string, mode: WriteMode, options: OpenWriteOptions = {}): Promise<VfsUpload> {
    const v = parseVirtualPath(vpath);
    if (v === '/') throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    const existing = await this.lookup(v);
    if (!existing) assertNewName(v);
    options.authorize?.(existing !== null);
    if (existing?.type === 'directory') throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    if (existing && mode === 'exclusive') throw new PortcullisError('ERR_VFS_EXISTS');
    // An object cannot be reopened: resuming or appending to a non-empty file would mean
    // rewriting it whole. Refused (docs/storage.md); a fresh or empty file is a plain upload.
    if (existing && existing.size > 0 && (mode === 'keep' || mode === 'append')) throw new PortcullisError('ERR_VFS_RESUME_UNSUPPORTED');
    if (!existing) await this.assertParentDir(v);
    return new S3Upload(this.client, this.bucket, this.key(v), this.spoolDir);
  }

  async mkdir(vpath: string): Promise<void> {
    const v = parseVirtualPath(vpath);
    if (v === '/' || (await this.lookup(v))) throw new PortcullisError('ERR_VFS_EXISTS');
    assertNewName(v);
    await this.assertParentDir(v);
    await s3(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.dirKey(v), Body: Buffer.alloc(0) })));
  }

  async rmdir(vpath: string): Promise<void> {
    const v = parseVirtualPath(vpath);
    if (v === '/') throw new PortcullisError('ERR_PERMISSION_DENIED', 'the home directory cannot be removed');
    const marker = this.dirKey(v);
    const r = await s3(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: marker, MaxKeys: 2 })));
    const keys = (r.Contents ?? []).map((o) => o.Key);
    if (keys.some((k) => k !== marker)) throw new PortcullisError('ERR_VFS_NOT_EMPTY');
    if (keys.length === 0) throw new PortcullisError((await this.head(this.key(v))) ? 'ERR_VFS_NOT_A_DIRECTORY' : 'ERR_VFS_NOT_FOUND');
    await s3(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: marker })));
  }

  async remove(vpath: string): Promise<void> {
    const v = parseVirtualPath(vpath);
    if (!(await this.head(this.key(v)))) {
      if (await this.dirExists(v)) throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
      throw new PortcullisError('ERR_VFS_NOT_FOUND');
    }
    await s3(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(v) })));
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Copy then delete (not atomic: for a moment both names exist). A folder moves only when
   * empty (its marker alone); a non-empty one is refused rather than half-moved. */
  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    const src = parseVirtualPath(from);
    const dst = parseVirtualPath(to);
    if (src === '/' || dst === '/') throw new PortcullisError('ERR_PERMISSION_DENIED', 'the home directory cannot be renamed');
    assertNewName(dst);
    const source = await this.stat(src);
    const target = await this.lookup(dst);
    if (target && !overwrite) throw new PortcullisError('ERR_VFS_EXISTS');
    if (target?.type === 'directory') throw new PortcullisError('ERR_VFS_IS_A_DIRECTORY');
    if (src === dst) return;
    await this.assertParentDir(dst);
    if (source.type === 'directory') {
      const marker = this.dirKey(src);
      const r = await s3(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: marker, MaxKeys: 2 })));
      if ((r.Contents ?? []).some((o) => o.Key !== marker) || (r.CommonPrefixes?.length ?? 0) > 0) throw new PortcullisError('ERR_VFS_DIRECTORY_RENAME_UNSUPPORTED');
      if (dst.startsWith(`${src}/`)) throw new PortcullisError('ERR_VFS_INVALID_PATH', 'a directory cannot move into itself');
      await s3(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.dirKey(dst), Body: Buffer.alloc(0) })));
      await s3(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: marker })));
      return;
    }
    if (source.size > LIMITS.s3MaxCopyBytes) throw new PortcullisError('ERR_VFS_UNSUPPORTED', `objects over ${LIMITS.s3MaxCopyBytes} bytes cannot be renamed on this storage`);
    await s3(() => this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.key(dst), CopySource: this.copySource(this.key(src)) })));
    await s3(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(src) })));
  }

  async setAttributes(vpath: string, attrs: VfsAttributes): Promise<void> {
    await this.stat(vpath);
    if (attrs.size !== undefined || attrs.mode !== undefined || attrs.atime !== undefined || attrs.mtime !== undefined) {
      throw new PortcullisError('ERR_VFS_UNSUPPORTED', 'objects have no permission bits, settable times or size');
    }
  }

  realpath(vpath: string): Promise<string> {
    return Promise.resolve(parseVirtualPath(vpath));
  }

  symlink(_target: string, _link: string): Promise<void> {
    return Promise.reject(new PortcullisError('ERR_VFS_UNSUPPORTED', 'object storage has no symbolic links'));
  }

  readlink(_vpath: string): Promise<string> {
    return Promise.reject(new PortcullisError('ERR_VFS_UNSUPPORTED', 'object storage has no symbolic links'));
  }

  link(_existing: string, _newPath: string): Promise<void> {
    return Promise.reject(new PortcullisError('ERR_VFS_UNSUPPORTED', 'object storage has no hard links'));
  }

  statvfs(_vpath: string): Promise<VfsStatvfs> {
    return Promise.reject(new PortcullisError('ERR_VFS_UNSUPPORTED', 'object storage has no file system statistics'));
  }

  /** Nothing is kept per session (the client is the storage's, shared). */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Names another tool may have put in the bucket that no client could address: skipped. */
function listable(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !/[\0\r\n]/.test(name) && !name.startsWith(UPLOAD_TEMP_PREFIX);
}

/**
 * A download: reads at an offset (SFTP) come from ranged GETs of s3ReadBlockBytes, cached a few
 * blocks deep, and the block after the one read is fetched ahead; a stream (FTP RETR) is one
 * GET from `start`.
 */
class S3File implements VfsFile {
  private readonly blocks = new Map<number, Promise<Buffer>>();
  private readonly streams = new Set<Readable>();
  private closed = false;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly info: VfsStat,
  ) {}

  private block(index: number): Promise<Buffer> {
    let p = this.blocks.get(index);
    if (p) {
      // Least recently used last.
      this.blocks.delete(index);
      this.blocks.set(index, p);
      return p;
    }
    const start = index * LIMITS.s3ReadBlockBytes;
    const end = Math.min(start + LIMITS.s3ReadBlockBytes, this.info.size) - 1;
    p = s3(async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${start}-${end}` }));
      return Buffer.from(await r.Body!.transformToByteArray());
    });
    p.catch(() => this.blocks.delete(index));
    this.blocks.set(index, p);
    while (this.blocks.size > LIMITS.s3ReadCacheBlocks) this.blocks.delete(this.blocks.keys().next().value!);
    return p;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (this.closed) throw new PortcullisError('ERR_SESSION_CLOSED');
    const end = Math.min(position + length, this.info.size);
    let done = 0;
    for (let pos = position; pos < end; ) {
      const index = Math.floor(pos / LIMITS.s3ReadBlockBytes);
      const data = await this.block(index);
      const from = pos - index * LIMITS.s3ReadBlockBytes;
      const n = Math.min(end - pos, data.length - from);
      if (n <= 0) break;
      data.copy(buffer, offset + done, from, from + n);
      done += n;
      pos += n;
    }
    // Read-ahead: the next block is on its way while the client asks for this one's bytes.
    const next = Math.floor(end / LIMITS.s3ReadBlockBytes);
    if (done > 0 && next * LIMITS.s3ReadBlockBytes < this.info.size && !this.blocks.has(next)) this.block(next).catch(() => undefined);
    return done;
  }

  stat(): Promise<VfsStat> {
    return Promise.resolve(this.info);
  }

  createReadStream(start: number): NodeJS.ReadableStream {
    if (start >= this.info.size) return Readable.from([]);
    const { client, bucket, key } = this;
    // One GET from `start`; the SDK body is a Node Readable, read as the consumer pulls.
    const stream = Readable.from(
      (async function* () {
        const r = await s3(() => client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-` })));
        yield* r.Body as Readable;
      })(),
      { objectMode: false },
    );
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.blocks.clear();
    for (const s of this.streams) s.destroy();
  }
}

interface Spooled {
  length: number;
  /** In memory, or (null) in the spool file at the same offset. */
  data: Buffer | null;
}

/**
 * An upload as one multipart upload, created when the first full part is ready (a file smaller
 * than one part is a single PUT at commit). In-order bytes fill the current part; bytes written
 * ahead of it (SFTP pipelines WRITEs, and they may be served out of order) wait in `spool`, in
 * memory up to s3SpoolMemoryBytes then in a local temp file, until the gap before them is
 * filled. Nothing is visible under the name before `commit` completes the upload.
 */
class S3Upload implements VfsUpload {
  private next = 0;
  private part: Buffer[] = [];
  private partLength = 0;
  private readonly spool = new Map<number, Spooled>();
  private spoolMemory = 0;
  private spoolFileBytes = 0;
  private spoolFile: { handle: FileHandle; path: string } | null = null;
  private uploadId: string | undefined;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: PortcullisError | null = null;
  private settled = false;
  /** Writes run one after another (the spool and the part are shared state). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly spoolDir: string,
  ) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  write(buffer: Buffer, position: number): Promise<number> {
    // SECURITY: the buffer is lent (SFTP reuses it): copied before the first await.
    const chunk = Buffer.from(buffer);
    return this.serial(async () => {
      this.assertOpen();
      if (chunk.length === 0) return 0;
      if (position < this.next) throw new PortcullisError('ERR_VFS_WRITE_ORDER', `a write at ${position} is below the ${this.next} bytes already stored`);
      if (position > this.next) {
        await this.hold(position, chunk);
        return chunk.length;
      }
      await this.append(chunk);
      await this.drainSpool();
      return chunk.length;
    });
  }

  private assertOpen(): void {
    if (this.failure) throw this.failure;
    if (this.settled) throw new PortcullisError('ERR_SESSION_CLOSED', 'upload already finished');
  }

  /** Keeps a chunk written ahead of the next expected offset. */
  private async hold(position: number, chunk: Buffer): Promise<void> {
    const had = this.spool.get(position);
    if (had) {
      if (had.length !== chunk.length) throw new PortcullisError('ERR_VFS_WRITE_ORDER', 'overlapping writes');
      return; // the same write again
    }
    if (this.spoolMemory + chunk.length <= LIMITS.s3SpoolMemoryBytes) {
      this.spool.set(position, { length: chunk.length, data: chunk });
      this.spoolMemory += chunk.length;
      return;
    }
    // SECURITY: bounded on disk too: a client writing far ahead of a gap it never fills
    // cannot fill the server's disk.
    if (this.spoolFileBytes + chunk.length > LIMITS.s3SpoolFileBytes) throw new PortcullisError('ERR_VFS_SPOOL_FULL', `more than ${LIMITS.s3SpoolFileBytes} bytes wait for a gap`);
    if (!this.spoolFile) {
      await fs.mkdir(this.spoolDir, { recursive: true, mode: 0o700 });
      const p = path.join(this.spoolDir, `${UPLOAD_TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
      this.spoolFile = { handle: await fs.open(p, 'wx+', 0o600), path: p };
    }
    await this.spoolFile.handle.write(chunk, 0, chunk.length, position);
    this.spool.set(position, { length: chunk.length, data: null });
    this.spoolFileBytes += chunk.length;
  }

  /** Moves spooled chunks that now follow on into the part. */
  private async drainSpool(): Promise<void> {
    for (let s = this.spool.get(this.next); s; s = this.spool.get(this.next)) {
      const at = this.next;
      this.spool.delete(at);
      let data = s.data;
      if (data) this.spoolMemory -= s.length;
      else {
        data = Buffer.alloc(s.length);
        await this.spoolFile!.handle.read(data, 0, s.length, at);
        this.spoolFileBytes -= s.length;
      }
      await this.append(data);
    }
  }

  private async append(chunk: Buffer): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      const room = LIMITS.s3PartBytes - this.partLength;
      const piece = rest.subarray(0, room);
      this.part.push(piece);
      this.partLength += piece.length;
      this.next += piece.length;
      rest = rest.subarray(piece.length);
      if (this.partLength === LIMITS.s3PartBytes) await this.flushPart();
    }
  }

  /** Sends the current part; waits while s3PartConcurrency parts are on their way
   * (back-pressure: the client's next write waits with it). */
  private async flushPart(): Promise<void> {
    const body = Buffer.concat(this.part, this.partLength);
    this.part = [];
    this.partLength = 0;
    if (!this.uploadId) {
      const r = await s3(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key })));
      this.uploadId = r.UploadId;
    }
    const partNumber = this.parts.length + this.inFlight.size + 1;
    if (partNumber > 10_000) throw new PortcullisError('ERR_VFS_NO_SPACE', 'the upload is over 10000 parts');
    const uploadId = this.uploadId!;
    const sent: Promise<void> = s3(() => this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body })))
      .then((r) => {
        this.parts.push({ PartNumber: partNumber, ETag: r.ETag! });
      })
      .catch((err: unknown) => {
        this.failure ??= fromS3Error(err);
      })
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
    while (this.inFlight.size >= LIMITS.s3PartConcurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  async read(): Promise<number> {
    throw new PortcullisError('ERR_VFS_UNSUPPORTED', 'an upload to object storage cannot be read before it is committed');
  }

  stat(): Promise<VfsStat> {
    let end = this.next;
    for (const [at, s] of this.spool) end = Math.max(end, at + s.length);
    return Promise.resolve(fileStat(end, new Date()));
  }

  createReadStream(): NodeJS.ReadableStream {
    throw new PortcullisError('ERR_VFS_UNSUPPORTED', 'an upload to object storage cannot be read before it is committed');
  }

  async truncate(size: number): Promise<void> {
    const { size: now } = await this.stat();
    if (size !== now) throw new PortcullisError('ERR_VFS_UNSUPPORTED', 'an upload to object storage cannot change its size');
  }

  async sync(): Promise<void> {
    // Nothing is durable before commit; fsync@openssh.com is not advertised on this storage.
  }

  createWriteStream(start: number): NodeJS.WritableStream {
    // A start past what was written is a gap (zeros at commit, as on disk); below it, refused by write.
    let pos = start;
    return new Writable({
      highWaterMark: 256 * 1024,
      write: (chunk: Buffer, _enc, callback) => {
        const at = pos;
        pos += chunk.length;
        this.write(chunk, at).then(
          () => callback(),
          (err: unknown) => callback(err as Error),
        );
      },
    });
  }

  /** Objects have no permission bits or settable times: accepted and ignored on an open upload
   * (OpenSSH and curl set them after a transfer), documented in docs/storage.md. The size may
   * only be what was written. */
  async setAttributes(attrs: VfsAttributes): Promise<void> {
    if (attrs.size !== undefined) await this.truncate(attrs.size);
  }

  commit(): Promise<void> {
    return this.serial(async () => {
      this.assertOpen();
      try {
        // Gaps never written read as zeros, as on a disk.
        while (this.spool.size > 0) {
          const first = Math.min(...this.spool.keys());
          if (first > this.next) await this.append(Buffer.alloc(first - this.next));
          await this.drainSpool();
        }
        if (!this.uploadId) {
          const body = Buffer.concat(this.part, this.partLength);
          await s3(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body })));
        } else {
          if (this.partLength > 0) await this.flushPart();
          await Promise.all(this.inFlight);
          if (this.failure) throw this.failure;
          const parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
          await s3(() => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: parts } })));
        }
        this.settled = true;
      } catch (err) {
        await this.discard();
        throw fromS3Error(err);
      } finally {
        await this.dropSpool();
      }
    });
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    await this.discard();
    await this.dropSpool();
  }

  private async discard(): Promise<void> {
    this.settled = true;
    this.part = [];
    this.spool.clear();
    await Promise.allSettled(this.inFlight);
    const id = this.uploadId;
    if (id) await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: id })).catch(() => undefined);
  }

  private async dropSpool(): Promise<void> {
    const f = this.spoolFile;
    this.spoolFile = null;
    if (!f) return;
    await f.handle.close().catch(() => undefined);
    await fs.unlink(f.path).catch(() => undefined);
  }

  /** Nothing is held open before commit or abort (the Session ends every upload with one). */
  async close(): Promise<void> {}
}
