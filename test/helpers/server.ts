// Starts a real Portcullis server in this process on 127.0.0.1 with port 0 everywhere and a
// temporary data dir, and stops it when the test ends. Use async child processes (execFile,
// spawn) for external clients: a synchronous spawn would block the server's event loop.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { readFileSync } from 'node:fs';
import { cliActor } from '../../src/admin/actor.ts';
import { UserService } from '../../src/admin/user-service.ts';

/** A user for a test: a password and/or a public key file. */
export interface AddUserOptions {
  password?: string | undefined;
  keyFile?: string | undefined;
  home?: string | undefined;
  readOnly?: boolean | undefined;
  /** No password or key: the user redeems an invitation (users/invitations.ts). */
  invited?: boolean | undefined;
}

export const execFileAsync = promisify(execFile);

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  /** Port of a listener whose name starts with `prefix` (e.g. 'sftp', 'ftps (explicit)'). */
  port(prefix: string): number;
  addUser(name: string, options: AddUserOptions): Promise<void>;
  /** Lines printed at start. */
  output: string[];
}

export async function makeTempDir(t: TestContext, prefix = 'portcullis-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  // A server using this dir may still write its last audit records while `after` hooks run
  // (they run in the order they were added): retry on ENOTEMPTY instead of failing the test.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
  return dir;
}

export async function startTestServer(t: TestContext, config: DeepPartial<ConfigInput> = {}): Promise<TestServer> {
  // A temp data dir of our own is removed after the server stops (not before: its last audit
  // record is written on stop).
  const ownDir = config.dataDir ? null : await mkdtemp(path.join(os.tmpdir(), 'portcullis-test-'));
  const dataDir = config.dataDir ?? path.join(ownDir!, 'data');
  const input = {
    ...config,
    dataDir,
    log: { level: 'silent', ...config.log },
    sftp: { address: '127.0.0.1', port: 0, ...config.sftp },
    ftps: { address: '127.0.0.1', port: 0, implicitPort: 0, ...config.ftps },
    metrics: { address: '127.0.0.1', port: 0, ...config.metrics },
    admin: { address: '127.0.0.1', port: 0, ...config.admin },
    // Protocol suites hammer one server from 127.0.0.1 with bursts and hostile input; the
    // defender and the connection rate would (rightly) ban them. The access suite
    // (test/access/) turns these back on and attacks them.
    defender: { enabled: false, ...config.defender },
    // Protocol suites log in with one factor; the MFA suite (test/mfa/) turns MFA back on (it is
    // on by default) and attacks it.
    mfa: { required: false, ...config.mfa },
    rateLimits: { connectionsPerSecond: 0, ...config.rateLimits },
  };
  const output: string[] = [];
  const server = await startServer({ config: parseConfig(input), file: null, fromEnv: [] }, (l) => output.push(l));
  t.after(async () => {
    await server.stop();
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  });
  const admin = new UserService(server.core.store, server.core.audit, dataDir);
  return {
    server,
    dataDir,
    output,
    port(prefix) {
      const l = server.listeners.find((x) => x.name.startsWith(prefix));
      if (!l) throw new Error(`no listener named ${prefix}* (have: ${server.listeners.map((x) => x.name).join(', ')})`);
      return l.port;
    },
    async addUser(name, options) {
      const { keyFile, ...rest } = options;
      await admin.create(cliActor(), name, { ...rest, ...(keyFile !== undefined && { publicKey: readFileSync(keyFile, 'utf8') }) });
    },
  };
}
