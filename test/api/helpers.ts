// The REST API from the outside: a server with admin.enabled, tokens made by the real CLI
// (`portcullis admin token create`), and curl over HTTPS verifying the server's certificate.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { run } from '../sftp/helpers.ts';

export interface ApiFixture {
  srv: TestServer;
  dir: string;
  url: string;
  ca: string;
  /** `portcullis …` against this server's data dir. */
  cli(args: string[], stdin?: string): ReturnType<typeof runCli>;
  /** Creates a token with the real CLI and returns it. */
  token(name: string, scopes: string, extra?: string[]): Promise<string>;
  /** One HTTPS request with curl; `raw` sends the body as given. */
  call(method: string, urlPath: string, options?: CallOptions): Promise<ApiReply>;
}

export interface CallOptions {
  token?: string | undefined;
  json?: unknown;
  raw?: string;
  headers?: string[];
  /** curl --path-as-is: send `..` segments unnormalised. */
  pathAsIs?: boolean;
}

export interface ApiReply {
  status: number;
  /** Parsed JSON (application/json), else the text. */
  body: unknown;
  text: string;
  headers: string;
  /** The error code of an error reply. */
  code: string | undefined;
}

export async function startApi(t: TestContext, config: Parameters<typeof startTestServer>[1] = {}): Promise<ApiFixture> {
  const dir = await makeTempDir(t, 'portcullis-api-');
  const srv = await startTestServer(t, { ...config, admin: { enabled: true, ...config.admin } });
  await writeFile(path.join(dir, 'portcullis.yaml'), `dataDir: ${JSON.stringify(srv.dataDir)}\n`);
  // a wildcard bind is reached over loopback (the certificate names 127.0.0.1)
  const url = srv.server.api!.url.replace('//0.0.0.0:', '//127.0.0.1:');
  const ca = path.join(srv.dataDir, 'tls', 'cert.pem');
  const cli = (args: string[], stdin?: string) => runCli(args, { cwd: dir, stdin });
  return {
    srv,
    dir,
    url,
    ca,
    cli,
    async token(name, scopes, extra = []) {
      const r = await cli(['admin', 'token', 'create', name, '--scope', scopes, ...extra]);
      assert.equal(r.code, 0, r.stderr);
      const token = r.stdout.trim();
      assert.match(token, /^pct_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      return token;
    },
    async call(method, urlPath, options = {}) {
      const body = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
      const args = ['-sS', '--cacert', ca, '-X', method, '-D', '-', '-o', '-', ...(options.pathAsIs ? ['--path-as-is'] : [])];
      if (options.token !== undefined) args.push('-H', `Authorization: Bearer ${options.token}`);
      if (options.json !== undefined && !(options.headers ?? []).some((h) => /^content-type:/i.test(h))) args.push('-H', 'Content-Type: application/json');
      for (const h of options.headers ?? []) args.push('-H', h);
      if (body !== undefined) args.push('--data-binary', '@-');
      args.push(`${url}${urlPath}`);
      const r = await run('curl', args, { input: body ?? '' });
      assert.equal(r.code, 0, `curl ${method} ${urlPath}: ${r.stderr}`);
      const split = r.stdout.indexOf('\r\n\r\n');
      const headers = r.stdout.slice(0, split);
      const text = r.stdout.slice(split + 4);
      const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1]);
      const json = /^content-type: application\/json/im.test(headers);
      const parsed: unknown = text ? (json ? JSON.parse(text) : text) : undefined;
      return { status, headers, body: parsed, text, code: (parsed as { error?: { code?: string } } | undefined)?.error?.code };
    },
  };
}
