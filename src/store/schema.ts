// Table types for kysely. Timestamps are ISO-8601 text and booleans integers 0/1, so the
// same rows read the same on SQLite and PostgreSQL.
import type { Generated } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  name: string;
  password_hash: string | null;
  home: string;
  /** JSON array of permission names. */
  permissions: string;
  disabled: number;
  created_at: string;
  updated_at: string;
  /** Comma-separated CIDRs; empty = any address. */
  allowed_cidrs: Generated<string>;
  denied_cidrs: Generated<string>;
  /** e.g. "mon-fri 08:00-18:00"; empty = any time. */
  access_hours: Generated<string>;
  /** 0 = the global limit only. */
  max_sessions: Generated<number>;
  /** null: follow mfa.required; 1 always; 0 never. */
  mfa_required: number | null;
  client_cert_pins: Generated<string>;
}

export interface MfaTotpTable {
  user_id: number;
  secret: string;
  status: 'pending' | 'active';
  created_at: string;
  confirmed_at: string | null;
}

export interface MfaRecoveryCodesTable {
  id: Generated<number>;
  user_id: number;
  code_mac: string;
  created_at: string;
  used_at: string | null;
}

export interface MfaUsedCodesTable {
  id: Generated<number>;
  user_id: number;
  code_mac: string;
  address: string;
  expires_at: string;
}

export interface MfaFailuresTable {
  id: Generated<number>;
  user_id: number;
  at: string;
}

export interface MfaLockoutsTable {
  user_id: number;
  until: string;
}

export interface IpRulesTable {
  id: Generated<number>;
  kind: 'allow' | 'deny';
  cidr: string;
  protocols: string;
  comment: string;
  created_at: string;
}

export interface BansTable {
  id: Generated<number>;
  address: string;
  reason: string;
  source: string;
  created_at: string;
  expires_at: string;
  lifted_at: string | null;
}

export interface PolicyStateTable {
  name: string;
  version: number;
}

export interface UserKeysTable {
  id: Generated<number>;
  user_id: number;
  algorithm: string;
  /** SHA256:base64 fingerprint, as ssh-keygen -l prints it. */
  fingerprint: string;
  /** The authorized_keys line (algorithm, base64 blob, comment). */
  public_key: string;
  comment: string;
  created_at: string;
}

export interface AuditEventsTable {
  id: Generated<number>;
  ts: string;
  event: string;
  user_name: string | null;
  remote_address: string | null;
  protocol: string | null;
  connection_id: string | null;
  /** The whole record as JSON (since 0004: the canonical chained line). */
  record: string;
  /** Place in the hash chain (null for records written before 0004). */
  seq: number | null;
  hash: string | null;
}

export interface AuditChainTable {
  name: string;
  seq: number;
  hash: string;
  updated_at: string;
}

export interface LoginAddressesTable {
  user_name: string;
  address: string;
  first_seen: string;
  last_seen: string;
}

/** One-time enrolment invitations (migration from IIS): a keyed hash of the token, never the token. */
export interface InvitationsTable {
  id: Generated<number>;
  user_id: number;
  token_mac: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface ApiTokensTable {
  id: Generated<number>;
  token_id: string;
  name: string;
  /** HMAC-SHA256 of the whole token, hex. */
  mac: string;
  scopes: string;
  sources: Generated<string>;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface ScanRunsTable {
  id: Generated<number>;
  kind: 'scan' | 'posture';
  trigger: string;
  node: string;
  started_at: string;
  finished_at: string;
  score: number | null;
  summary: string;
}

export interface ScanResultsTable {
  id: Generated<number>;
  run_id: number;
  target: string;
  started_at: string;
  reachable: number;
  failures: string;
  report: string;
}

export interface ScanLeasesTable {
  name: string;
  holder: string;
  expires_at: string;
}

export interface AdminsTable {
  id: Generated<number>;
  name: string;
  password_hash: string;
  role: string;
  totp_secret: string;
  totp_last_step: Generated<number>;
  failures: Generated<number>;
  locked_until: string | null;
  disabled: Generated<number>;
  created_at: string;
  created_by: string;
}

export interface WebSessionsTable {
  id_hash: string;
  plane: string;
  subject: string;
  stage: string;
  csrf: string;
  address: string;
  created_at: number;
  last_seen_at: number;
  reauth_at: Generated<number>;
}

export interface Database {
  admins: AdminsTable;
  web_sessions: WebSessionsTable;
  api_tokens: ApiTokensTable;
  scan_runs: ScanRunsTable;
  scan_results: ScanResultsTable;
  scan_leases: ScanLeasesTable;
  users: UsersTable;
  user_keys: UserKeysTable;
  audit_events: AuditEventsTable;
  ip_rules: IpRulesTable;
  bans: BansTable;
  policy_state: PolicyStateTable;
  audit_chain: AuditChainTable;
  login_addresses: LoginAddressesTable;
  mfa_totp: MfaTotpTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_used_codes: MfaUsedCodesTable;
  mfa_failures: MfaFailuresTable;
  mfa_lockouts: MfaLockoutsTable;
  invitations: InvitationsTable;
}
