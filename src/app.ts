// The composition root: builds every core service once and passes them explicitly. No
// module-level singletons; tests build a Core of their own.
import { pino, type Logger } from 'pino';
import { Audit } from './audit/audit.ts';
import { ChainedAuditSink } from './audit/sinks/chained.ts';
import { type Lane, VerificationQueue } from './auth/verification-queue.ts';
import { verifyPassword } from './auth/passwords.ts';
import { LIMITS } from './config/limits.ts';
import { ClusterLink } from './cluster/cluster-link.ts';
import type { SharedPolicy } from './cluster/shared-policy.ts';
import type { AuditRecord } from './audit/events.ts';
import { InProcessSessions } from './admin/session-service.ts';
import { AuthFlow, type AuthPolicy } from './auth/auth-flow.ts';
import { ClientCertificateVerifier } from './auth/mfa/client-certificates.ts';
import { mfaPolicy } from './auth/mfa/mfa-policy.ts';
import { MfaService } from './auth/mfa/mfa-service.ts';
import { SecretBox } from './auth/mfa/secret-box.ts';
import { warmPasswordVerifier } from './auth/passwords.ts';
import type { Config } from './config/schema.ts';
import type { ErrorCode } from './errors/index.ts';
import { loadIdentity, type Identity } from './identity/identity.ts';
import { Admission } from './net/admission.ts';
import type { ConnectionTally } from './net/connection-tally.ts';
import type { SharedBans } from './policy/defender.ts';
import { loadMallocTrim, MemoryTrim } from './net/memory-trim.ts';
import { AccessPolicy } from './policy/access-policy.ts';
import { MemorySessionCounter, type SessionCounter } from './policy/session-counter.ts';
import { PortcullisError } from './errors/index.ts';
import type { ConnectionContext } from './net/connection.ts';
import { ConnectionTimers } from './net/timeouts.ts';
import { Session } from './session/session.ts';
import { Store } from './store/store.ts';
import type { User } from './store/user-repository.ts';
import { createStorage, type Storage, type StorageOptions } from './vfs/storage.ts';
import { openStoreAndAudit } from './store/open-store.ts';

export interface Core {
  readonly config: Config;
  readonly logger: Logger;
  readonly audit: Audit;
  /** The hash-chained trail writer (null when audit.file and audit.store are both off). */
  readonly trail: ChainedAuditSink | null;
  readonly store: Store;
  readonly identity: Identity;
  readonly admission: Admission;
  /** Open sessions by id (live view, kill, drain). */
  readonly sessions: Map<string, Session>;
  /** Several nodes (redis.url) or workers (workers > 1): what they share (on Redis, or through
   * the primary); null in one process on one node. */
  readonly cluster: SharedPolicy | null;
  /** Sessions held per user (the cap is taken here, atomically, whatever the protocol). */
  readonly sessionCounter: SessionCounter;
  readonly access: AccessPolicy;
  readonly mfa: MfaService;
  /** Checks a password for `name` from `address` the way file-protocol logins do: after the
   * per-name guessing throttle, in the verification queue (clean addresses first). */
  checkPassword(name: string, storedHash: string | null, password: string, address: string): Promise<boolean>;
  /** Where users' files live (storage.type): opens each session's Vfs, says what it can do. */
  readonly storage: Storage;
  authPolicy: AuthPolicy;
  newAuthFlow(ctx: ConnectionContext): AuthFlow;
  newTimers(onTimeout: (code: ErrorCode) => void): ConnectionTimers;
  /** Takes one of the user's session slots (throws ERR_AUTH_TOO_MANY_SESSIONS, audited as
   * `session.refused`, when none is free) and opens a Session; closing it frees the slot. */
  openSession(user: User, ctx: ConnectionContext, id?: string): Promise<Session>;
  close(): Promise<void>;
}

export interface CoreOptions {
  logger?: Logger;
  /** Skip the file/store audit sinks (CLI commands that only read). */
  withoutAuditSinks?: boolean;
  /** Storage client overrides (tests). */
  storage?: StorageOptions;
  /** What this process shares with the other processes of the node (workers > 1): the worker's
   * link to its primary, or the primary's hub. Built from redis.url when absent. */
  shared?: (redis: ClusterLink | null, audit: Audit, trail: ChainedAuditSink | null) => SharedPolicy | null;
  /** A worker: its records go to the primary's trail, and whether that trail takes them. */
  auditTo?: { forward(record: AuditRecord): void; accepting(): boolean };
  /** A worker: its connections are counted by the primary (the node's caps), and the logins the
   * other processes saw reach its failure throttle. */
  node?: { tally: ConnectionTally; bans: SharedBans; onOthersLogins(fn: (r: AuditRecord) => void): void };
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}

/** Opens the store and audit sinks only: what CLI commands need. */
// The store and the audit trail alone (CLI commands): see store/open-store.ts.
export { openStoreAndAudit };

/** The user's session cap: their own `--max-sessions` (0: none), bounded by the global one. */
export function sessionCapOf(user: User, config: Config): number {
  return user.maxSessions > 0 ? Math.min(user.maxSessions, config.limits.maxSessionsPerUser) : config.limits.maxSessionsPerUser;
}

export async function createCore(config: Config, options: CoreOptions = {}): Promise<Core> {
  const logger = options.logger ?? createLogger(config);
  const identity = await loadIdentity(config);
  const base = await openStoreAndAudit(config, { ...options, ...(options.auditTo && { forwardAudit: (r: AuditRecord) => options.auditTo!.forward(r) }) });
  await warmPasswordVerifier();
  const mfa = new MfaService(base.store, base.audit, SecretBox.load(config.dataDir), config.mfa);
  const clientCertificates = new ClientCertificateVerifier(config.mfa.clientCaFile);
  // Several nodes (redis.url): session caps and connection rates across nodes, bans pushed to
  // every node at once, sessions listed and killed on any node.
  const redis = config.redis.url ? await ClusterLink.connect(config, logger) : null;
  const cluster: SharedPolicy | null = options.shared ? options.shared(redis, base.audit, base.trail) : redis;
  const access = new AccessPolicy(config, base.store, base.audit, cluster);
  if (cluster) access.defender.shareScores(cluster.scores);
  // Workers: a ban is in force in every worker before the guess that caused it is answered.
  const sharedBans = options.node?.bans ?? cluster?.bans;
  if (sharedBans) access.defender.shareBans(sharedBans);
  const admission = new Admission(config.limits, base.audit, access.key, options.node?.tally);
  options.node?.onOthersLogins((r) => access.throttle.observe(r));
  // SECURITY: a ban (from this node, another one or the CLI) also ends the banned key's
  // connections still guessing: 30 connections opened before the ban must not go on trying.
  access.defender.onBanned((key) => admission.dropUnauthenticated(key, `banned: ${access.defender.banOf(key)?.reason ?? 'ban'}`));
  // Native memory freed by closed connections goes back to the system (issue 21).
  const mallocTrim = await loadMallocTrim();
  const memoryTrim = mallocTrim ? new MemoryTrim(base.audit, mallocTrim) : null;
  logger.debug(mallocTrim ? 'memory: free C heap pages are returned after connections close (glibc malloc_trim through node:ffi)' : 'memory: malloc_trim not reachable (not glibc, or no node:ffi); freed C heap pages stay with the allocator');
  // SECURITY: password checks queue with addresses the defender has scored behind clean ones,
  // so a brute force slows its own guesses, not the owner's login.
  const verification = { queue: new VerificationQueue(LIMITS.passwordVerifyConcurrency), laneOf: (address: string): Lane => (access.defender.scoreOf(address) > 0 ? 'suspect' : 'clean') };
  const storage = createStorage(config, options.storage);
  const sessions = new Map<string, Session>();
  const sessionCounter: SessionCounter = cluster?.sessions ?? new MemorySessionCounter();
  if (cluster) {
    base.store.policy.onChange(() => cluster.publishPolicyChanged());
    cluster.onPolicyChanged(() => void access.refresh(false).catch((err: Error) => logger.error({ err: err.message }, 'reloading rules and bans after a change on another node failed; the next poll retries')));
  }
  await access.start();
  admission.addRule(access.admissionRule);

  const core: Core = {
    config,
    logger,
    audit: base.audit,
    trail: base.trail,
    store: base.store,
    identity,
    admission,
    sessions,
    cluster,
    sessionCounter,
    access,
    mfa,
    storage,
    authPolicy: mfaPolicy(mfa),
    async checkPassword(name, storedHash, password, address) {
      await access.throttle.wait(name, address);
      return verification.queue.run(verification.laneOf(address), () => verifyPassword(storedHash, password));
    },
    newAuthFlow(ctx) {
      return new AuthFlow(
        { store: base.store, audit: base.audit, policy: core.authPolicy, maxAttempts: config.limits.maxAuthAttempts, mfa, clientCertificates, guards: [access.loginGuard], throttle: (u, a) => access.throttle.wait(u, a), scored: (a) => access.defender.settled(a), verification },
        ctx,
      );
    },
    newTimers(onTimeout) {
      return new ConnectionTimers(config.limits, onTimeout);
    },
    async openSession(user, ctx, id = ctx.id) {
      // SECURITY: no session may start that the trail cannot record (disk full, issue 14.6):
      // refused, logged, audited (the record waits in memory with the others).
      if ((base.trail && !base.trail.accepting) || (options.auditTo && !options.auditTo.accepting())) {
        const why = 'the audit trail cannot be written (no room under DATADIR/audit or in the store); sessions start again once it can';
        logger.error({ user: user.name, connectionId: ctx.id, remoteAddress: ctx.remoteAddress }, `session refused: ${why}`);
        base.audit.emit({ type: 'session.refused', code: 'ERR_AUDIT_UNAVAILABLE', reason: why, cap: 0, sessionId: id, connectionId: ctx.id, protocol: ctx.protocol, remoteAddress: ctx.remoteAddress, user: user.name });
        throw new PortcullisError('ERR_AUDIT_UNAVAILABLE', why);
      }
      const cap = sessionCapOf(user, config);
      const slot = await sessionCounter.acquire(user.name, cap);
      if (!slot) {
        const why = `${user.name} already has ${cap} session(s) open (${user.maxSessions > 0 && user.maxSessions < config.limits.maxSessionsPerUser ? `user set ${user.name} --max-sessions` : 'limits.maxSessionsPerUser'}): close one, or raise the cap`;
        base.audit.emit({ type: 'session.refused', code: 'ERR_AUTH_TOO_MANY_SESSIONS', reason: why, cap, sessionId: id, connectionId: ctx.id, protocol: ctx.protocol, remoteAddress: ctx.remoteAddress, user: user.name });
        throw new PortcullisError('ERR_AUTH_TOO_MANY_SESSIONS', why);
      }
      let session: Session;
      try {
        session = new Session(id, user, ctx, await storage.open(user), base.audit, logger);
      } catch (err) {
        slot.release();
        throw err;
      }
      sessions.set(id, session);
      const close = session.close.bind(session);
      session.close = async () => {
        sessions.delete(id);
        slot.release();
        await close();
      };
      return session;
    },
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.close()));
      admission.closeAll();
      memoryTrim?.close();
      access.close();
      admission.close();
      storage.close();
      await cluster?.close();
      await base.close();
    },
  };
  // The other nodes' list and kill requests are answered with this node's own sessions.
  cluster?.serveSessions(new InProcessSessions(core));
  return core;
}
