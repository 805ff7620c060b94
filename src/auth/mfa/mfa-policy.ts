// The login policy with MFA: for a user who needs it, every required set contains a one-time
// code. No set holds a single method, so no method on its own completes the login.
// (A pinned TLS client certificate as the FTPS second factor, ['tls-client-cert', 'password'],
// is the next set to add here.)
import type { AuthPolicy, Factor } from '../auth-flow.ts';
import type { MfaService } from './mfa-service.ts';

const SINGLE: Factor[][] = [['password'], ['publickey']];
const WITH_MFA: Factor[][] = [
  ['password', 'totp'],
  ['publickey', 'totp'],
];

export function mfaPolicy(mfa: MfaService): AuthPolicy {
  return { requiredFactorSets: (user) => (user && mfa.requires(user) ? WITH_MFA : SINGLE) };
}
