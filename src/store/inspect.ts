// The store as `portcullis doctor` sees it: can it be reached, and is its schema where this
// Portcullis expects it? Opened without migrating (read-only for SQLite, never created): doctor
// reports a pending migration, it does not apply one (the server does, at start).
import { existsSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { migrationProvider } from './migrations.ts';
import type { StoreOptions } from './store.ts';

export interface StoreState {
  where: string;
  reachable: boolean;
  error?: string;
  /** SQLite: the database file does not exist (the server has never started). */
  missing?: boolean;
  /** Migrations this Portcullis knows, applied to the database. */
  applied: string[];
  /** Migrations this Portcullis knows that the database has not had yet. */
  pending: string[];
  /** Migrations the database had that this Portcullis does not know (a newer version ran on it). */
  unknown: string[];
  /** Distinct user homes (for the disk check), when the users table exists. */
  homes: string[];
}

export function storeWhere(options: StoreOptions): string {
  return options.driver === 'sqlite' ? options.url : options.url.replace(/\/\/[^@]*@/, '//***@');
}

/** Opens a Kysely on the store without migrating it (SQLite: read-only, must exist). */
export async function openForInspection(options: StoreOptions): Promise<Kysely<unknown>> {
  if (options.driver === 'sqlite') {
    if (!existsSync(options.url)) throw Object.assign(new Error('the database file does not exist (the server creates it at first start)'), { code: 'ENOENT' });
    const db = new SqliteDatabase(options.url, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
  }
  const { default: pg } = await import('pg');
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: options.url, max: 1, connectionTimeoutMillis: 5000 }) }) });
}

/** Migration state of an open database (the server's own, or one opened for inspection). */
export async function migrationState(db: Kysely<unknown>, driver: StoreOptions['driver']): Promise<Pick<StoreState, 'applied' | 'pending' | 'unknown' | 'homes'>> {
  const known = Object.keys(await migrationProvider(driver).getMigrations()).sort();
  let executed: string[] = [];
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    executed = rows.rows.map((r) => r.name);
  } catch {
    executed = []; // no migration table: nothing applied yet
  }
  let homes: string[] = [];
  if (executed.includes('0001_users_keys_audit')) {
    const rows = await sql<{ home: string }>`select distinct home from users`.execute(db);
    homes = rows.rows.map((r) => r.home);
  }
  return {
    applied: known.filter((n) => executed.includes(n)),
    pending: known.filter((n) => !executed.includes(n)),
    unknown: executed.filter((n) => !known.includes(n)).sort(),
    homes,
  };
}

export async function inspectStore(options: StoreOptions): Promise<StoreState> {
  const where = storeWhere(options);
  let db: Kysely<unknown> | undefined;
  try {
    db = await openForInspection(options);
    await sql`select 1`.execute(db);
    return { where, reachable: true, ...(await migrationState(db, options.driver)) };
  } catch (err) {
    return { where, reachable: false, ...((err as NodeJS.ErrnoException).code === 'ENOENT' && { missing: true }), error: (err as Error).message.split('\n')[0]!.slice(0, 300), applied: [], pending: [], unknown: [], homes: [] };
  } finally {
    await db?.destroy();
  }
}
