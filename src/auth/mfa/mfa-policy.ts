// The login policy with MFA: for a user who needs it, every required set holds two factors: a
// one-time code after a password or key, or (FTPS) a TLS client certificate pinned to the user
// with the password. No set holds a single method, so no method on its own completes a login.
import type { AuthPolicy, Factor } from '../auth-flow.ts';
import type { MfaService } from './mfa-service.ts';

const SINGLE: Factor[][] = [['password'], ['publickey']];
const WITH_MFA: Factor[][] = [
  ['password', 'totp'],
  ['publickey', 'totp'],
  ['tls-client-cert', 'password'],
];

export function mfaPolicy(mfa: MfaService): AuthPolicy {
  return { requiredFactorSets: (user) => (user && mfa.requires(user) ? WITH_MFA : SINGLE) };
}
