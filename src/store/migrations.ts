// Schema migrations, written once for both dialects. Anything dialect-specific goes through
// the DDL helpers below (kysely's autoIncrement() is SQLite/MySQL only and breaks PostgreSQL).
import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export interface Ddl {
  /** Adds an auto-incrementing integer primary key named `id`. */
  id<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'>;
  /** Integer column type wide enough for byte counts and epoch milliseconds. */
  bigint: 'integer' | 'bigint';
}

export function ddlFor(dialect: Dialect): Ddl {
  return dialect === 'postgres'
    ? { id: (t) => t.addColumn('id', 'bigserial', (c) => c.primaryKey()), bigint: 'bigint' }
    : { id: (t) => t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()), bigint: 'integer' };
}

type Step = (db: Kysely<unknown>, ddl: Ddl) => Promise<void>;

const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

/** Ordered migrations; names sort lexically. Never edit one that has shipped: add a new one. */
const MIGRATIONS: Record<string, { up: Step }> = {
  '0001_users_keys_audit': {
    async up(db, ddl) {
      await ddl
        .id(db.schema.createTable('users'))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text')
        .addColumn('home', 'text', notNull)
        .addColumn('permissions', 'text', notNull)
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', notNull)
        .addColumn('updated_at', 'text', notNull)
        .execute();
      await ddl
        .id(db.schema.createTable('user_keys'))
        .addColumn('user_id', ddl.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('algorithm', 'text', notNull)
        .addColumn('fingerprint', 'text', notNull)
        .addColumn('public_key', 'text', notNull)
        .addColumn('comment', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'text', notNull)
        .addUniqueConstraint('user_keys_user_fingerprint', ['user_id', 'fingerprint'])
        .execute();
      await ddl
        .id(db.schema.createTable('audit_events'))
        .addColumn('ts', 'text', notNull)
        .addColumn('event', 'text', notNull)
        .addColumn('user_name', 'text')
        .addColumn('remote_address', 'text')
        .addColumn('protocol', 'text')
        .addColumn('connection_id', 'text')
        .addColumn('record', 'text', notNull)
        .execute();
      await db.schema.createIndex('audit_events_ts').on('audit_events').column('ts').execute();
      await db.schema.createIndex('audit_events_user').on('audit_events').columns(['user_name', 'ts']).execute();
    },
  },
  '0002_access_policy': {
    async up(db, ddl) {
      // Global allow/deny rules managed from the CLI (the config file can hold more).
      await ddl
        .id(db.schema.createTable('ip_rules'))
        .addColumn('kind', 'text', notNull) // 'allow' | 'deny'
        .addColumn('cidr', 'text', notNull)
        .addColumn('protocols', 'text', (c) => c.notNull().defaultTo('')) // comma list; '' = all
        .addColumn('comment', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'text', notNull)
        .addUniqueConstraint('ip_rules_kind_cidr_protocols', ['kind', 'cidr', 'protocols'])
        .execute();
      // Bans: active while expires_at is in the future; kept afterwards as history (repeat
      // offenders get longer bans).
      await ddl
        .id(db.schema.createTable('bans'))
        .addColumn('address', 'text', notNull)
        .addColumn('reason', 'text', notNull)
        .addColumn('source', 'text', notNull) // 'defender' | 'cli'
        .addColumn('created_at', 'text', notNull)
        .addColumn('expires_at', 'text', notNull)
        .addColumn('lifted_at', 'text')
        .execute();
      await db.schema.createIndex('bans_address').on('bans').columns(['address', 'expires_at']).execute();
      // A counter bumped on every rule or ban change, polled by running servers.
      await db.schema
        .createTable('policy_state')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', ddl.bigint, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.insertInto('policy_state' as never).values({ name: 'access', version: 0 }).execute();
      // Per-user access policy.
      await db.schema.alterTable('users').addColumn('allowed_cidrs', 'text', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('users').addColumn('denied_cidrs', 'text', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('users').addColumn('access_hours', 'text', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('users').addColumn('max_sessions', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0003_mfa': {
    async up(db, ddl) {
      await db.schema
        .createTable('mfa_totp')
        .addColumn('user_id', ddl.bigint, (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('secret', 'text', notNull) // AES-256-GCM sealed, see auth/mfa/secret-box.ts
        .addColumn('status', 'text', notNull) // 'pending' | 'active'
        .addColumn('created_at', 'text', notNull)
        .addColumn('confirmed_at', 'text')
        .execute();
      await ddl
        .id(db.schema.createTable('mfa_recovery_codes'))
        .addColumn('user_id', ddl.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_mac', 'text', notNull)
        .addColumn('created_at', 'text', notNull)
        .addColumn('used_at', 'text')
        .execute();
      // Accepted codes, remembered until they can no longer be valid (replay protection shared
      // by every node on the database).
      await ddl
        .id(db.schema.createTable('mfa_used_codes'))
        .addColumn('user_id', ddl.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_mac', 'text', notNull)
        .addColumn('address', 'text', notNull)
        .addColumn('expires_at', 'text', notNull)
        .execute();
      await db.schema.createIndex('mfa_used_codes_user').on('mfa_used_codes').columns(['user_id', 'code_mac']).execute();
      await ddl
        .id(db.schema.createTable('mfa_failures'))
        .addColumn('user_id', ddl.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('at', 'text', notNull)
        .execute();
      await db.schema
        .createTable('mfa_lockouts')
        .addColumn('user_id', ddl.bigint, (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('until', 'text', notNull)
        .execute();
      // null: follow mfa.required; 1: always; 0: never.
      await db.schema.alterTable('users').addColumn('mfa_required', 'integer').execute();
    },
  },
  '0004_audit_chain': {
    async up(db, ddl) {
      // The hash chain (monitoring): each record's place and hash, and the chain head, which a
      // truncated or shortened file cannot take back with it.
      await db.schema.alterTable('audit_events').addColumn('seq', ddl.bigint).execute();
      await db.schema.alterTable('audit_events').addColumn('hash', 'text').execute();
      await db.schema.createIndex('audit_events_seq').on('audit_events').column('seq').unique().execute();
      await db.schema.createIndex('audit_events_address').on('audit_events').columns(['remote_address', 'ts']).execute();
      await db.schema.createIndex('audit_events_event').on('audit_events').columns(['event', 'ts']).execute();
      await db.schema
        .createTable('audit_chain')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('seq', ddl.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('hash', 'text', notNull)
        .addColumn('updated_at', 'text', notNull)
        .execute();
      await db
        .insertInto('audit_chain' as never)
        .values({ name: 'main', seq: 0, hash: '0'.repeat(64), updated_at: new Date(0).toISOString() })
        .execute();
      // Addresses each user has logged in from (the "new address" alert).
      await db.schema
        .createTable('login_addresses')
        .addColumn('user_name', 'text', notNull)
        .addColumn('address', 'text', notNull)
        .addColumn('first_seen', 'text', notNull)
        .addColumn('last_seen', 'text', notNull)
        .addPrimaryKeyConstraint('login_addresses_pk', ['user_name', 'address'])
        .execute();
    },
  },
  '0005_client_cert_pins': {
    async up(db) {
      // SHA-256 fingerprints (colon hex) of TLS client certificates pinned to the user (FTPS
      // second factor with the password); comma-separated, empty = none.
      await db.schema.alterTable('users').addColumn('client_cert_pins', 'text', (c) => c.notNull().defaultTo('')).execute();
    },
  },
  '0006_api_tokens': {
    async up(db, ddl) {
      // REST API tokens (admin/token-service.ts). The secret is never stored: only its keyed hash
      // (HMAC-SHA256 with DATADIR/api-token.key), so a copy of the database alone cannot forge one.
      await ddl
        .id(db.schema.createTable('api_tokens'))
        .addColumn('token_id', 'text', (c) => c.notNull().unique()) // public part, looked up first
        .addColumn('name', 'text', notNull)
        .addColumn('mac', 'text', notNull)
        .addColumn('scopes', 'text', notNull) // comma list
        .addColumn('sources', 'text', (c) => c.notNull().defaultTo('')) // comma list of CIDRs; '' = any
        .addColumn('created_at', 'text', notNull)
        .addColumn('created_by', 'text', notNull)
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_name').on('api_tokens').column('name').execute();
    },
  },
  '0007_iis_invitations': {
    async up(db, ddl) {
      // One-time enrolment invitations: users imported from IIS have no password until they
      // redeem one. Only a keyed hash (HMAC with the MFA key) of the token is stored.
      await ddl
        .id(db.schema.createTable('invitations'))
        .addColumn('user_id', ddl.bigint, (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_mac', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', notNull)
        .addColumn('expires_at', 'text', notNull)
        .addColumn('used_at', 'text')
        .execute();
      await db.schema.createIndex('invitations_user').on('invitations').column('user_id').execute();
    },
  },
  '0008_doctor_scan_history': {
    async up(db, ddl) {
      // Scheduled scans and posture runs (issue 18): one row per run, one per target scanned,
      // so a target's findings can be compared with its previous run.
      await ddl
        .id(db.schema.createTable('scan_runs'))
        .addColumn('kind', 'text', notNull) // 'scan' | 'posture'
        .addColumn('trigger', 'text', notNull) // 'schedule' | 'cli'
        .addColumn('node', 'text', notNull)
        .addColumn('started_at', 'text', notNull)
        .addColumn('finished_at', 'text', notNull)
        .addColumn('score', 'integer') // posture: the overall score
        .addColumn('summary', 'text', notNull) // JSON
        .execute();
      await ddl
        .id(db.schema.createTable('scan_results'))
        .addColumn('run_id', ddl.bigint, (c) => c.notNull().references('scan_runs.id').onDelete('cascade'))
        .addColumn('target', 'text', notNull)
        .addColumn('started_at', 'text', notNull)
        .addColumn('reachable', 'integer', notNull)
        .addColumn('failures', 'text', notNull) // JSON [{id, severity, title}]
        .addColumn('report', 'text', notNull) // JSON: the scanner's TargetReport
        .execute();
      await db.schema.createIndex('scan_results_target').on('scan_results').columns(['target', 'run_id']).execute();
      // One node of a cluster runs the scheduled scans: it holds this lease while it does.
      await db.schema
        .createTable('scan_leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', notNull)
        .addColumn('expires_at', 'text', notNull)
        .execute();
    },
  },
  '0009_web_plane': {
    async up(db, ddl) {
      // Operators of the web admin: their own accounts (not file-transfer users), a role, a TOTP
      // secret sealed by the MFA key, replay and lockout state (docs/web.md).
      await ddl
        .id(db.schema.createTable('admins'))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', notNull)
        .addColumn('role', 'text', notNull)
        .addColumn('totp_secret', 'text', notNull)
        .addColumn('totp_last_step', ddl.bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'text')
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', notNull)
        .addColumn('created_by', 'text', notNull)
        .execute();
      // Browser sessions of the admin and portal planes, shared by every node through the store.
      // Only a hash of the id is kept: a copy of the table signs nobody in.
      await db.schema
        .createTable('web_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('plane', 'text', notNull)
        .addColumn('subject', 'text', notNull)
        .addColumn('stage', 'text', notNull)
        .addColumn('csrf', 'text', notNull)
        .addColumn('address', 'text', notNull)
        .addColumn('created_at', ddl.bigint, notNull)
        .addColumn('last_seen_at', ddl.bigint, notNull)
        .addColumn('reauth_at', ddl.bigint, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('web_sessions_subject').on('web_sessions').columns(['plane', 'subject']).execute();
    },
  },
};

/** The names of every migration this version knows, in order. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS);

export function migrationProvider(dialect: Dialect): MigrationProvider {
  const ddl = ddlFor(dialect);
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) out[name] = { up: (db) => m.up(db, ddl) };
      return out;
    },
  };
}

/** SQLite needs foreign keys switched on per connection; PostgreSQL has them always. */
export async function enableForeignKeys(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') await sql`PRAGMA foreign_keys = ON`.execute(db);
}
