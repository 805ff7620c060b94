// MFA fixtures: a server with mfa.required, a user enrolled and confirmed through the real
// MfaService, and codes computed by oathtool (the RFC 6238 reference people use in scripts).
import { execFile } from 'node:child_process';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
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
