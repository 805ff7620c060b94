// MFA fixtures: a server with mfa.required, a user enrolled and confirmed through the real
// MfaService, and codes computed by oathtool (the RFC 6238 reference people use in scripts).
import { execFile } from 'node:child_process';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { currentCode } from '../../src/auth/mfa/mfa-service.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

export const USER = 'alice';
export const PASSWORD = 'correct horse battery';

export interface MfaFixture {
  srv: TestServer;
  secret: string;
  recovery: string[];
  /** The current code, from oathtool. */
  code(): Promise<string>;
}

export async function totpFromOathtool(secret: string, offsetSteps = 0): Promise<string> {
  const args = ['--totp', '-b', secret];
  if (offsetSteps !== 0) args.push('-N', `now ${offsetSteps > 0 ? '+' : '-'} ${Math.abs(offsetSteps) * 30} seconds`);
  const { stdout } = await promisify(execFile)('oathtool', args).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === 'ENOENT' ? 'oathtool is missing: apt-get install -y oathtool' : e.message);
  });
  return stdout.trim();
}

export async function startMfaServer(t: TestContext, config: Parameters<typeof startTestServer>[1] = {}): Promise<MfaFixture> {
  const srv = await startTestServer(t, { ...config, mfa: { required: true, ...config.mfa } });
  await srv.addUser(USER, { password: PASSWORD });
  const user = await srv.server.core.store.users.require(USER);
  const { secret } = await srv.server.core.mfa.enroll(user);
  const recovery = await srv.server.core.mfa.confirm(user, currentCode(secret));
  const code = async () => {
    const c = await totpFromOathtool(secret);
    if (c !== currentCode(secret)) throw new Error('oathtool and otpauth disagree (clock edge: retry)');
    return c;
  };
  return { srv, secret, recovery, code };
}

/** ssh2's client: a password, then the code for keyboard-interactive. Logged in or not. */
export function ssh2PasswordAndCode(o: { port: number; from?: string; user: string; password: string; code: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      c.end();
      resolve(ok);
    };
    const steps: ssh2.AuthenticationType[] = ['password', 'keyboard-interactive'];
    c.on('ready', () => done(true));
    c.on('error', () => done(false));
    c.on('close', () => done(false));
    c.on('keyboard-interactive', (_name, _instr, _lang, prompts, finish) => finish(prompts.map(() => o.code)));
    c.connect({
      host: '127.0.0.1',
      port: o.port,
      localAddress: o.from ?? '127.0.0.1',
      username: o.user,
      readyTimeout: 20_000,
      authHandler: (_methodsLeft, _partial, next) => {
        const method = steps.shift();
        if (method === 'password') return next({ type: 'password', username: o.user, password: o.password });
        if (method === 'keyboard-interactive') return next({ type: 'keyboard-interactive', username: o.user, prompt: (_n, _i, _l, prompts, fin) => fin(prompts.map(() => o.code)) });
        return next(false as unknown as ssh2.AuthenticationType);
      },
    });
  });
}
