// A real S3 HTTP server (s3rver, from npm) started by the test, behind a small fault-injecting
// HTTP proxy: what no emulator reproduces (CLUSTER.md) is done here, on the wire.
// - `slowDown`: the next N requests are answered 503 SlowDown (the SDK must retry them);
// - `completeDelayMs`: CompleteMultipartUpload is held that long before it reaches the server;
// - `partDelayMs`: UploadPart is held that long (a client can be killed in mid-upload);
// - `listPageKeys`: ListObjectsV2 pages are cut to that many keys (max-keys rewritten), so every
//   listing walks several continuation pages.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { makeTempDir } from '../helpers/server.ts';

export const BUCKET = 'portcullis-test';
export const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface Faults {
  slowDown: number;
  completeDelayMs: number;
  listPageKeys: number | null;
  /** UploadPart requests are held that long (to catch an upload in the middle). */
  partDelayMs: number;
}

export interface S3Fixture {
  /** The proxy's URL: what the server under test talks to. */
  endpoint: string;
  faults: Faults;
  /** Requests seen by the proxy (method and path with query), in order. */
  seen: string[];
  /** A client straight to s3rver (no faults), to look at the bucket. */
  direct: S3Client;
  /** Every key in the bucket under `prefix`. */
  keys(prefix?: string): Promise<string[]>;
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

export async function startS3(t: TestContext): Promise<S3Fixture> {
  const dir = await makeTempDir(t, 'portcullis-s3-');
  // The proxy rewrites max-keys, so signatures are not checked (s3rver's own option).
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: BUCKET }], allowMismatchedSignatures: true });
  const { port: upstream } = await s3rver.run();
  const faults: Faults = { slowDown: 0, completeDelayMs: 0, listPageKeys: null, partDelayMs: 0 };
  const seen: string[] = [];
  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    if (faults.slowDown > 0) {
      faults.slowDown--;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    if (faults.listPageKeys !== null && req.method === 'GET' && url.searchParams.get('list-type') === '2') url.searchParams.set('max-keys', String(faults.listPageKeys));
    const completing = req.method === 'POST' && url.searchParams.has('uploadId');
    const forward = (): void => {
      const up = http.request({ host: '127.0.0.1', port: upstream, method: req.method, path: url.pathname + url.search, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    const part = req.method === 'PUT' && url.searchParams.has('partNumber');
    if (completing && faults.completeDelayMs > 0) setTimeout(forward, faults.completeDelayMs);
    else if (part && faults.partDelayMs > 0) setTimeout(forward, faults.partDelayMs);
    else forward();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const direct = s3Client(`http://127.0.0.1:${upstream}`);
  t.after(async () => {
    direct.destroy();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await s3rver.close();
  });
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    faults,
    seen,
    direct,
    async keys(prefix = '') {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const r = await direct.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) out.push(o.Key!);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
  };
}
