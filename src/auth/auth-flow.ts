// The authentication state machine of one connection. Each successful step records a factor;
// the login completes only when the recorded factors cover one of the user's required sets.
// A second factor (TOTP, a client certificate) is therefore one more required factor, never an
// optional branch: no single method can complete a login whose policy needs two.
//
//   start ──step ok──▶ partial ──step ok──▶ … ──factors cover a set──▶ authenticated
//     │                   │
//     └──step failed──────┴──▶ (same state; failures++) ──failures ≥ max──▶ closed
import type { Audit } from '../audit/audit.ts';
import { PortcullisError, type ErrorCode } from '../errors/index.ts';
import type { ConnectionContext } from '../net/connection.ts';
import type { Store } from '../store/store.ts';
import type { User } from '../store/user-repository.ts';
import type { ClientCertificateVerifier, PresentedCertificate } from './mfa/client-certificates.ts';
import { splitPasswordAndCode } from './mfa/codes.ts';
import type { MfaService } from './mfa/mfa-service.ts';
import { verifyPassword } from './passwords.ts';
import type { Lane, VerificationQueue } from './verification-queue.ts';
import { sameKey, verifySignature } from './public-keys.ts';

/** A factor proven by a step. Protocol methods map onto these (SSH keyboard-interactive with
 * a password prompt proves 'password'). Later issues add 'totp' and 'tls-client-cert'. */
export type Factor = 'password' | 'publickey' | 'totp' | 'tls-client-cert';

/** Decides which sets of factors complete a login for a user (any one set suffices). */
export interface AuthPolicy {
  requiredFactorSets(user: User | undefined, ctx: ConnectionContext): Factor[][];
}

export const SINGLE_FACTOR_POLICY: AuthPolicy = {
  requiredFactorSets: () => [['password'], ['publickey']],
};

export type AuthStep =
  | { status: 'success'; user: User; factors: Factor[] }
  | { status: 'partial'; next: Factor[] }
  | { status: 'failure'; next: Factor[]; code: ErrorCode; close: boolean };

export interface PublicKeyProof {
  algorithm: string;
  blob: Buffer;
  /** Absent on the "would this key be accepted?" query that SSH clients send first. */
  signature?: { data: Buffer; signature: Buffer; hashAlgorithm?: string | undefined };
}

/** A check that needs the user (per-user CIDRs, access hours, session caps), run when the
 * factors are complete and before the login is granted. Refusals reach the client as
 * ERR_AUTH_FAILED; the audit trail keeps the precise code and reason. */
export type LoginGuard = (user: User, ctx: ConnectionContext) => { code: ErrorCode; reason: 'address-not-allowed' | 'outside-hours' | 'too-many-sessions' } | null;

export interface AuthFlowDeps {
  store: Store;
  audit: Audit;
  policy: AuthPolicy;
  maxAttempts: number;
  /** The second factor; absent, a policy that needs 'totp' can never complete. */
  mfa?: MfaService;
  /** Checks TLS client certificates (FTPS); absent, 'tls-client-cert' can never be proven. */
  clientCertificates?: ClientCertificateVerifier;
  guards?: readonly LoginGuard[];
  /** Waits before a step for this user name from this address (guessing throttle). */
  throttle?: (username: string, address: string) => Promise<void>;
  /** Waits until this address's failures are counted and any ban they caused is in force
   * everywhere (the defender, across workers): a refusal is answered after it. */
  scored?: (address: string) => Promise<void>;
  /** Password verifications queue here, clean addresses first (verification-queue.ts). */
  verification?: { queue: VerificationQueue; laneOf: (address: string) => Lane };
}

type State = 'start' | 'partial' | 'authenticated' | 'closed';
type Check = (user: User | undefined) => Promise<{ ok: boolean; reason?: 'bad-key' | 'mfa-locked' | 'mfa-not-enrolled' | undefined; method?: string }>;

export class AuthFlow {
  private state: State = 'start';
  private username: string | undefined;
  private readonly factors = new Set<Factor>();
  private failures = 0;
  private keyQueries = 0;
  private authenticated: User | undefined;

  constructor(
    private readonly deps: AuthFlowDeps,
    readonly ctx: ConnectionContext,
  ) {}

  get isAuthenticated(): boolean {
    return this.state === 'authenticated';
  }

  get user(): User | undefined {
    return this.authenticated;
  }

  /** Factors that may still be offered (for SSH's "methods that can continue"). */
  async nextFactors(username?: string): Promise<Factor[]> {
    const user = username ? await this.deps.store.users.get(username) : undefined;
    return this.remaining(user);
  }

  async password(username: string, password: string): Promise<AuthStep> {
    const v = this.deps.verification;
    return this.step(username, 'password', async (user) => {
      const verify = () => verifyPassword(user?.passwordHash ?? null, password);
      return { ok: await (v ? v.queue.run(v.laneOf(this.ctx.remoteAddress), verify) : verify()) };
    });
  }

  /** The second factor: a TOTP code or a recovery code. */
  async secondFactor(username: string, code: string): Promise<AuthStep> {
    return this.step(username, 'totp', async (user) => {
      if (!user || !this.deps.mfa) return { ok: false };
      const r = await this.deps.mfa.verify(user, code, this.ctx);
      if (r.ok) return { ok: true, method: r.kind };
      return { ok: false, reason: r.reason === 'locked' ? ('mfa-locked' as const) : r.reason === 'not-enrolled' ? ('mfa-not-enrolled' as const) : undefined };
    });
  }

  /**
   * FTP's single PASS: for a user who needs MFA the code is appended to the password
   * (`PASS <password><code>`); for anyone else the whole string is the password.
   */
  async passwordWithCode(username: string, pass: string, clientCertificate?: PresentedCertificate): Promise<AuthStep> {
    const user = await this.deps.store.users.get(username);
    if (!user || !this.deps.mfa?.requires(user)) return this.password(username, pass);
    // A client certificate pinned to the user is the second factor: then PASS is the password.
    if (clientCertificate && this.deps.clientCertificates?.matches(user, clientCertificate)) {
      const first = await this.step(username, 'tls-client-cert', async () => ({ ok: true, method: 'tls-client-cert' }));
      if (first.status !== 'partial') return first;
      return this.password(username, pass);
    }
    const split = splitPasswordAndCode(pass);
    const first = await this.password(username, split?.password ?? pass);
    if (first.status !== 'partial') return first;
    // SECURITY: the password was right but there is no code: the login fails like any other.
    const second = await this.secondFactor(username, split?.code ?? '');
    if (second.status !== 'failure') return second;
    // One PASS is one attempt: a failed code forgets the password too, so the reply is the
    // same as for a wrong password.
    this.factors.clear();
    if (this.state === 'partial') this.state = 'start';
    return second.close ? second : { ...second, next: this.remaining(user) };
  }

  /** Would this key be accepted? (No state change: SSH clients ask before signing.) */
  async publicKeyAcceptable(username: string, algorithm: string, blob: Buffer): Promise<boolean> {
    // SECURITY: bounded so the query cannot be used to test thousands of keys per connection.
    if (++this.keyQueries > this.deps.maxAttempts * 4 || this.state === 'closed' || this.state === 'authenticated') return false;
    const user = await this.deps.store.users.get(username);
    if (!user || user.disabled || !this.allowed(user, 'publickey')) return false;
    return (await this.deps.store.keys.list(user.id)).some((k) => sameKey(k.publicKey, algorithm, blob));
  }

  async publicKey(username: string, proof: PublicKeyProof): Promise<AuthStep> {
    return this.step(username, 'publickey', async (user) => {
      if (!user || !proof.signature) return { ok: false };
      const keys = await this.deps.store.keys.list(user.id);
      const key = keys.find((k) => sameKey(k.publicKey, proof.algorithm, proof.blob));
      if (!key) return { ok: false, reason: 'bad-key' as const };
      return { ok: verifySignature(key.publicKey, proof.signature.data, proof.signature.signature, proof.signature.hashAlgorithm), method: `publickey ${key.fingerprint}` };
    });
  }

  private allowed(user: User | undefined, factor: Factor): boolean {
    // SECURITY: a one-time code is only ever checked after another factor was proven, so
    // someone without the password can neither guess codes nor lock the user out with them.
    if (factor === 'totp' && this.factors.size === 0) return false;
    return this.remaining(user).includes(factor);
  }

  /** Factors that, added to those proven, still lead towards some required set. A client
   * certificate is presented at the TLS handshake, so it can only ever come first. */
  private remaining(user: User | undefined): Factor[] {
    const sets = this.deps.policy.requiredFactorSets(user, this.ctx);
    const next = new Set<Factor>();
    for (const set of sets) {
      if (![...this.factors].every((f) => set.includes(f))) continue;
      for (const f of set) if (!this.factors.has(f) && !(f === 'tls-client-cert' && this.factors.size > 0)) next.add(f);
    }
    return [...next];
  }

  private complete(user: User): boolean {
    return this.deps.policy.requiredFactorSets(user, this.ctx).some((set) => set.every((f) => this.factors.has(f)));
  }

  private async step(username: string, factor: Factor, check: Check): Promise<AuthStep> {
    const result = await this.decide(username, factor, check);
    // SECURITY: the client hears of a failure only once it is counted and any ban it caused is
    // in force in every process: its next connection, wherever it lands, meets the ban.
    if (result.status === 'failure') await this.deps.scored?.(this.ctx.remoteAddress).catch(() => undefined);
    return result;
  }

  private async decide(username: string, factor: Factor, check: Check): Promise<AuthStep> {
    const { audit } = this.deps;
    const base = { connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, user: username };
    if (this.state === 'closed') return { status: 'failure', next: [], code: 'ERR_AUTH_TOO_MANY_ATTEMPTS', close: true };
    if (this.state === 'authenticated') throw new PortcullisError('ERR_AUTH_ALREADY_DONE');
    if (this.username !== undefined && this.username !== username) {
      // SECURITY: factors proven for one user never count for another.
      this.factors.clear();
      this.state = 'start';
      audit.emit({ type: 'auth.failed', ...base, method: factor, code: 'ERR_AUTH_USER_CHANGED', reason: 'not-allowed' });
      return this.fail('ERR_AUTH_USER_CHANGED', undefined);
    }
    this.username = username;
    await this.deps.throttle?.(username, this.ctx.remoteAddress);
    const user = await this.deps.store.users.get(username);

    if (!this.allowed(user, factor)) {
      audit.emit({ type: 'auth.failed', ...base, method: factor, code: 'ERR_AUTH_METHOD_NOT_ALLOWED', reason: 'not-allowed' });
      return this.fail('ERR_AUTH_METHOD_NOT_ALLOWED', user);
    }
    // Always run the check (argon2 for unknown users too): equal timing, equal reply.
    const result = await check(user);
    // SECURITY: a user locked out by wrong codes cannot log in at all until the lock ends;
    // the reply is the same as for a wrong password, so it reveals nothing.
    const locked = !!user && !!this.deps.mfa?.requires(user) && (await this.deps.mfa.isLocked(user));
    const reason = !user ? 'unknown-user' : user.disabled ? 'disabled' : locked ? 'mfa-locked' : result.ok ? null : (result.reason ?? 'bad-credentials');
    if (reason !== null || !user) {
      audit.emit({ type: 'auth.failed', ...base, method: factor, code: 'ERR_AUTH_FAILED', reason: reason ?? 'unknown-user' });
      return this.fail('ERR_AUTH_FAILED', user);
    }
    this.factors.add(factor);
    if (this.complete(user)) {
      for (const guard of this.deps.guards ?? []) {
        const refusal = guard(user, this.ctx);
        if (refusal) {
          this.factors.delete(factor);
          audit.emit({ type: 'auth.failed', ...base, method: factor, code: refusal.code, reason: refusal.reason });
          return this.fail('ERR_AUTH_FAILED', user);
        }
      }
      this.state = 'authenticated';
      this.authenticated = user;
      audit.emit({ type: 'auth.succeeded', ...base, methods: [...this.factors] });
      return { status: 'success', user, factors: [...this.factors] };
    }
    const next = this.remaining(user);
    if (next.includes('totp') && this.deps.mfa && !(await this.deps.mfa.isEnrolled(user)) && next.every((f) => f === 'totp')) {
      // The user needs a code but has none: say so (the first factor was right, so this
      // reveals nothing new) and name the command that fixes it.
      this.factors.delete(factor);
      audit.emit({ type: 'auth.failed', ...base, method: 'totp', code: 'ERR_AUTH_MFA_NOT_ENROLLED', reason: 'mfa-not-enrolled' });
      this.state = 'closed';
      return { status: 'failure', next: [], code: 'ERR_AUTH_MFA_NOT_ENROLLED', close: true };
    }
    this.state = 'partial';
    audit.emit({ type: 'auth.partial', ...base, method: result.method ?? factor, next });
    return { status: 'partial', next };
  }

  private fail(code: ErrorCode, user: User | undefined): AuthStep {
    this.failures += 1;
    if (this.failures >= this.deps.maxAttempts) {
      this.state = 'closed';
      this.deps.audit.emit({ type: 'auth.failed', connectionId: this.ctx.id, protocol: this.ctx.protocol, remoteAddress: this.ctx.remoteAddress, user: this.username, method: 'any', code: 'ERR_AUTH_TOO_MANY_ATTEMPTS', reason: 'too-many-attempts' });
      return { status: 'failure', next: [], code: 'ERR_AUTH_TOO_MANY_ATTEMPTS', close: true };
    }
    return { status: 'failure', next: this.remaining(user), code, close: false };
  }
}
