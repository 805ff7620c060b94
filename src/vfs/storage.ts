// The storage factory: which backend holds a user's files, chosen once from the configuration
// (`storage.type`). app.ts asks it for a user's Vfs; the protocols ask it what the backend can do
// before login (FTP FEAT) so they never advertise what the storage would refuse.
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config/schema.ts';
import { LIMITS } from '../config/limits.ts';
import type { User } from '../store/user-repository.ts';
import { LocalVfs } from './local.ts';
import { S3_CAPABILITIES, S3Vfs } from './s3.ts';
import { FULL_CAPABILITIES, type Vfs, type VfsCapabilities } from './vfs.ts';

export interface Storage {
  readonly type: Config['storage']['type'];
  readonly capabilities: Readonly<VfsCapabilities>;
  /** The user's files, confined to their home (local) or key prefix (s3). */
  open(user: User): Promise<Vfs>;
  close(): void;
}

/** Optional SDK client settings (tests point it at their S3 server and fault proxy). */
export interface StorageOptions {
  s3Client?: S3Client;
}

export function createStorage(config: Config, options: StorageOptions = {}): Storage {
  if (config.storage.type === 'local') {
    return { type: 'local', capabilities: FULL_CAPABILITIES, open: (user) => LocalVfs.open(user.home), close: () => undefined };
  }
  const s = config.storage.s3;
  const client =
    options.s3Client ??
    // Credentials: the SDK's default chain (environment, shared files, SSO, web identity,
    // container and instance roles). Checksums only when the operation requires them: several
    // S3-compatible servers do not understand the newer aws-chunked trailers.
    new S3Client({
      region: s.region,
      ...(s.endpoint !== null && { endpoint: s.endpoint }),
      forcePathStyle: s.forcePathStyle,
      maxAttempts: LIMITS.s3MaxAttempts,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const spoolDir = path.join(config.dataDir, 'spool');
  return {
    type: 's3',
    capabilities: S3_CAPABILITIES,
    open: (user) => Promise.resolve(new S3Vfs({ client, bucket: s.bucket!, prefix: userPrefix(s.prefix, user.name), spoolDir })),
    close: () => client.destroy(),
  };
}

/** `users/{user}/` → `users/alice/`. */
export function userPrefix(template: string, name: string): string {
  return template.replaceAll('{user}', name);
}
