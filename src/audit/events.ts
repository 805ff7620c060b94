// Typed audit events. Names follow `area.action.outcome`. No event carries a password, a
// one-time code, a private key or a public key blob: only names, addresses, fingerprints,
// virtual paths, sizes, durations and error codes.
import type { ErrorCode } from '../errors/index.ts';

export type Protocol = 'sftp' | 'ftps' | 'ftp' | 'cli' | 'admin' | 'portal';

interface Base {
  /** Connection the event belongs to, if any. */
  connectionId?: string;
  protocol?: Protocol;
  remoteAddress?: string;
  user?: string;
  /** The worker process that made the record (workers > 1, docs/workers.md). */
  worker?: number;
}

export type AuditEvent = Base &
  (
    | { type: 'server.started'; listeners: string[]; predecessor?: number }
    | { type: 'server.stopped' }
    | { type: 'server.handover'; successor: number }
    | { type: 'server.handover.failed'; detail: string }
    /** workers > 1: a worker process died; another takes its slot after `restartInMs`. */
    | { type: 'server.worker.exited'; slot: number; pid: number; exit: string; restartInMs: number }
    | { type: 'storage.leftovers.removed'; home: string; files: number; bytes: number }
    | { type: 'conn.accepted'; localPort: number }
    | { type: 'conn.refused'; code: ErrorCode; rule: string }
    | { type: 'conn.closed'; durationMs: number; reason?: string }
    /** An admitted connection closed by the server before it authenticated: its address (key) was
     * banned meanwhile (`code` ERR_ADMISSION_BANNED, `reason` the ban's). */
    | { type: 'conn.dropped'; code: ErrorCode; reason: string }
    /** A handshake refused: `reason` says why, `fix` names the setting that would admit the client
     * (or says none does), `weakens` what that setting costs. SSH adds the client's
     * identification and both sides' algorithm lists; TLS the version/cipher the client tried. */
    | { type: 'conn.handshake.failed'; code: ErrorCode; reason: string; fix: string; weakens: string; client?: string; offered?: Record<string, string[] | string>; ours?: Record<string, string[] | string> }
    | { type: 'auth.succeeded'; methods: string[] }
    | { type: 'auth.partial'; method: string; next: string[] }
    /** A client left without trying any method we accept (e.g. only `none`/hostbased, or password
     * where only keys are allowed). Not scored by the defender: no secret was guessed. */
    | { type: 'auth.method.refused'; code: ErrorCode; tried: string[]; accepted: string[]; fix: string }
    | { type: 'auth.failed'; method: string; code: ErrorCode; reason: 'unknown-user' | 'bad-credentials' | 'disabled' | 'not-allowed' | 'too-many-attempts' | 'bad-key' | 'address-not-allowed' | 'outside-hours' | 'too-many-sessions' | 'mfa-not-enrolled' | 'mfa-locked' }
    | { type: 'session.timeout'; code: ErrorCode }
    | { type: 'session.closed'; sessionId: string; durationMs: number }
    /** A session (SFTP/SCP channel, FTP login) refused: `reason` says which cap and how to change it. */
    | { type: 'session.refused'; code: ErrorCode; reason: string; cap: number; sessionId: string }
    | { type: 'protocol.malformed'; code: ErrorCode; detail: string }
    | { type: 'file.operation'; op: FileOp; outcome: 'completed' | 'failed'; path: string; target?: string; code?: ErrorCode; bytes?: number; durationMs?: number; sha256?: string; sessionId: string }
    | { type: 'auth.mfa.succeeded'; method: 'totp' | 'recovery-code' }
    | { type: 'auth.mfa.failed'; reason: 'wrong-code' | 'malformed' | 'not-enrolled' }
    | { type: 'auth.mfa.replayed'; firstAddress: string }
    | { type: 'auth.mfa.locked'; until: string }
    | { type: 'mfa.enrolled' | 'mfa.confirmed' | 'mfa.disabled' | 'mfa.recovery.regenerated'; subject: string }
    | { type: 'mfa.recovery.used'; remaining: number }
    | { type: 'policy.ban.added'; reason: string; source: 'defender' | 'cli' | 'admin'; expiresAt: string; minutes: number }
    | { type: 'policy.ban.lifted'; reason: 'expired' | 'removed' }
    /** `applied`: configuration keys in force at once; `restartNeeded`: changed keys that wait for a restart. */
    | { type: 'config.reload.completed'; what: string; applied?: string[]; restartNeeded?: string[] }
    | { type: 'config.reload.failed'; what: string; detail: string }
    | { type: 'identity.certificate.expiring'; validTo: string; daysLeft: number; fingerprint: string }
    | { type: 'session.killed'; target: string; sessionId?: string; by: 'cli' | 'admin'; actor?: { kind: 'cli' | 'api-token' | 'admin-session' | 'portal-user'; id: string } }
    /** `portcullis posture` scans this server from loopback: the defender ignores loopback this long. */
    | { type: 'posture.selfscan'; seconds: number }
    /** The server's scheduled `doctor` run (docs/doctor.md): every run, and when a warning or problem appeared or went. */
    | { type: 'doctor.run.completed'; status: 'ok' | 'warning' | 'problem'; problems: number; warnings: number }
    | { type: 'doctor.run.changed'; status: 'ok' | 'warning' | 'problem'; worst: 'ok' | 'warning' | 'problem'; added: string[]; resolved: string[] }
    /** Scheduled scans and posture runs (docs/scanner.md "Scheduled scans"). */
    | { type: 'scan.run.completed'; runId: number; kind: 'scan' | 'posture'; targets: number; newFindings: number; resolvedFindings: number }
    | { type: 'scan.run.skipped'; reason: string }
    | { type: 'scan.findings.new'; runId: number; target: string; worst: string; findings: string[] }
    | { type: 'scan.certificate.expiring'; runId: number; target: string; validTo: string; daysLeft: number; subject: string }
    | { type: 'posture.score.dropped'; runId: number; previous: number; score: number; layers: string[] }
    /** Issue 14.6: `count` failures identical to one written in full (`of`: its event; same
     * session, code and path pattern: the folder plus `*`) between `first` and `last`. */
    | { type: 'audit.records.aggregated'; of: string; count: number; first: string; last: string; sessionId?: string; code?: string; pattern?: string; targetPattern?: string }
    /** The first `file.*` record past a session's or user's audit budget: from now until the window ends, they are counted. */
    | { type: 'audit.budget.exceeded'; scope: 'session' | 'user'; sessionId?: string; budget: number; windowSeconds: number }
    /** The `file.*` records counted, not written, past a budget: `events` by name, `bytes` moved. */
    | { type: 'audit.records.suppressed'; scope: 'session' | 'user'; sessionId?: string; count: number; events: Record<string, number>; bytes: number; first: string; last: string }
    /** The trail could not be written (disk full): records wait in memory, new sessions are refused. */
    | { type: 'audit.storage.failed'; code: string; detail: string }
    /** Writing works again; `lost` records (by event in `events`) did not fit in memory meanwhile. */
    | { type: 'audit.storage.recovered'; since: string; lost: number; events: Record<string, number> }
    /** Rotated files removed by `audit.retention`; `lastHash` anchors the chain where the kept files start. */
    | { type: 'audit.retention.removed'; files: string[]; firstSeq: number; lastSeq: number; lastHash: string; reason: string }
    | { type: 'alert.raised'; rule: string; severity: 'critical' | 'warning' | 'notice'; summary: string }
    | { type: 'user.changed'; action: 'added' | 'removed' | 'password-changed' | 'key-added' | 'key-removed' | 'policy-changed' | 'invited' | 'invitation-accepted'; subject: string; detail?: string }
    /** An enrolment invitation token that is unknown, used or expired (the reason is only here, never on the wire). */
    | { type: 'user.invitation.refused'; reason: 'unknown' | 'used' | 'expired' }
    /** An administrative write (CLI, API token, admin session): written as `admin.<resource>.<action>`,
     * with the actor and what changed (secrets never included). */
    | { type: 'admin.change'; resource: AdminResource; action: string; subject: string; actor: { kind: 'cli' | 'api-token' | 'admin-session' | 'portal-user'; id: string }; before?: Record<string, unknown>; after?: Record<string, unknown>; detail?: string }
    /** A browser session of the web admin or portal began (`method`: what the last step proved) or ended. */
    | { type: 'web.session.started'; plane: 'admin' | 'portal'; method: string }
    | { type: 'web.session.ended'; plane: 'admin' | 'portal'; reason: 'signed-out' | 'expired' }
    /** A state-changing request refused before it ran: missing/wrong CSRF token, cross-site origin, role, re-authentication. */
    | { type: 'web.request.refused'; plane: 'admin' | 'portal'; code: ErrorCode; path: string; reason: string }
  );

export type AdminResource = 'user' | 'rule' | 'ban' | 'token' | 'mfa' | 'scan' | 'admin' | 'export';

export type FileOp =
  | 'list'
  | 'stat'
  | 'download'
  | 'upload'
  | 'mkdir'
  | 'rmdir'
  | 'remove'
  | 'rename'
  | 'setstat'
  | 'symlink'
  | 'readlink'
  | 'link'
  | 'realpath'
  | 'statvfs';

export type AuditEventType = AuditEvent['type'];

/** The name written to the trail: `file.operation` events become `file.<op>.<outcome>`. */
export function eventName(e: AuditEvent): string {
  if (e.type === 'file.operation') return `file.${e.op}.${e.outcome}`;
  if (e.type === 'admin.change') return `admin.${e.resource}.${e.action}`;
  return e.type;
}

/** A published record: the event plus time and name. */
export type AuditRecord = AuditEvent & { ts: string; event: string };
