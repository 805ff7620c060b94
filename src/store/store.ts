// The store: users, their public keys and the audit table, behind kysely so SQLite (default)
// and PostgreSQL (clusters) share every query. Callers see domain objects, never rows.
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type SqliteDatabase as KyselySqlite, type SqliteStatement } from 'kysely';
import { LIMITS } from '../config/limits.ts';
import type { Config } from '../config/schema.ts';
import { PortcullisError } from '../errors/index.ts';
import { AuditRepository } from './audit-repository.ts';
import { InvitationRepository } from './invitation-repository.ts';
import { KeyRepository } from './key-repository.ts';
import { enableForeignKeys, MIGRATION_NAMES, migrationProvider, type Dialect } from './migrations.ts';
import type { Database } from './schema.ts';
import { MfaRepository } from './mfa-repository.ts';
import { PolicyRepository } from './policy-repository.ts';
import { TokenRepository } from './token-repository.ts';
import { AdminRepository, WebSessionRepository } from './web-repository.ts';
import { ScanRepository } from './scan-repository.ts';
import { UserRepository } from './user-repository.ts';

export interface StoreOptions {
  driver: Dialect;
  /** SQLite file path, or a postgres:// URL. */
  url: string;
}

export function storeOptionsFrom(config: Config): StoreOptions {
  return {
    driver: config.store.driver,
    url: config.store.url ?? path.join(config.dataDir, 'portcullis.db'),
  };
}

/** Every migration this version knows is recorded as applied (one synchronous query). */
function sqliteUpToDate(sqlite: SqliteDatabase.Database): boolean {
  try {
    const applied = new Set((sqlite.prepare('SELECT name FROM kysely_migration').all() as { name: string }[]).map((r) => r.name));
    return MIGRATION_NAMES.every((n) => applied.has(n));
  } catch {
    return false; // no migration table yet: a new database
  }
}

/**
 * The SQLite connection as kysely sees it, with its statements kept prepared (LRU of
 * LIMITS.storeSqliteStatements by SQL text): kysely's driver prepares every query it runs, and
 * SQLite's prepare was ~15 % of an audit transaction. Sharing a statement is safe here: kysely
 * runs one query at a time on its one connection (a stream holds it until done).
 */
function withStatementCache(sqlite: SqliteDatabase.Database): KyselySqlite {
  const kept = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      let stmt = kept.get(sql);
      if (stmt) kept.delete(sql);
      else {
        stmt = sqlite.prepare(sql);
        if (kept.size >= LIMITS.storeSqliteStatements) kept.delete(kept.keys().next().value!);
      }
      kept.set(sql, stmt);
      return stmt;
    },
  };
}

export class Store {
  readonly users: UserRepository;
  readonly keys: KeyRepository;
  readonly audit: AuditRepository;
  readonly policy: PolicyRepository;
  readonly mfa: MfaRepository;
  readonly invitations: InvitationRepository;
  readonly tokens: TokenRepository;
  readonly scans: ScanRepository;
  readonly admins: AdminRepository;
  readonly webSessions: WebSessionRepository;

  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {
    this.users = new UserRepository(db);
    this.keys = new KeyRepository(db);
    this.audit = new AuditRepository(db);
    this.policy = new PolicyRepository(db);
    this.mfa = new MfaRepository(db);
    this.invitations = new InvitationRepository(db);
    this.tokens = new TokenRepository(db);
    this.scans = new ScanRepository(db);
    this.admins = new AdminRepository(db);
    this.webSessions = new WebSessionRepository(db);
  }

  static async open(options: StoreOptions): Promise<Store> {
    let db: Kysely<Database>;
    let upToDate = false;
    try {
      if (options.driver === 'sqlite') {
        mkdirSync(path.dirname(options.url), { recursive: true, mode: 0o700 });
        const sqlite = new SqliteDatabase(options.url);
        chmodSync(options.url, 0o600); // SECURITY: holds password hashes
        sqlite.pragma('journal_mode = WAL');
        // WAL + NORMAL: no fsync per commit (the audit trail commits often); the database stays
        // consistent after a crash, and only a power loss can drop the newest transactions.
        sqlite.pragma('synchronous = NORMAL');
        sqlite.pragma('busy_timeout = 5000');
        sqlite.pragma('foreign_keys = ON');
        // better-sqlite3 builds SQLite with a 16 MiB page cache: filled by the audit rows every
        // session appends, it was most of the memory kept after sessions closed (issue 21).
        sqlite.pragma(`cache_size = -${LIMITS.sqliteCacheKiB}`);
        upToDate = sqliteUpToDate(sqlite);
        db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
      } else {
        const { default: pg } = await import('pg'); // loaded only for PostgreSQL
        db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: options.url, max: 10 }) }) });
      }
      await enableForeignKeys(db as Kysely<unknown>, options.driver);
      // The migrator reads its tables through several queries; a CLI call on an up-to-date
      // database skips it (a tenth of `user list`'s start-up).
      if (!upToDate) {
        const { error } = await new Migrator({ db, provider: migrationProvider(options.driver) }).migrateToLatest();
        if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
      }
    } catch (err) {
      const where = options.driver === 'sqlite' ? options.url : options.url.replace(/\/\/[^@]*@/, '//***@');
      throw new PortcullisError('ERR_STORE_UNAVAILABLE', `${options.driver} ${where}: ${(err as Error).message}`, { cause: err });
    }
    return new Store(db, options.driver);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
