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
};

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
