import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * The migrations, in order: one numbered file in sql/ each. Listed here rather
 * than found by scanning a folder so a bundle (the Worker) knows them too;
 * tests/db/schema.happy.test.ts fails when this list and sql/ disagree.
 */
export const MIGRATIONS = [
  '0001_foundation',
  '0002_signals',
  '0003_idempotency_inbound',
  '0004_scoring',
  '0005_outbound_webhooks',
  '0006_jobs',
  '0007_alerts',
  '0008_follow_ups',
  '0009_rescore_claims',
  '0010_proof_of_score',
  '0020_notifications',
  '0025_web_people',
  '0030_usage_partitions',
  '0035_append_only_ingest',
  '0050_score_history',
] as const;

export type ReadMigrationSql = (name: string) => Promise<string>;

/**
 * Each file runs as one PL/pgSQL DO block: both drivers send statements over the
 * extended protocol, which takes one statement at a time, and a DO block keeps
 * the whole file in Kysely's migration transaction.
 */
function asSingleStatement(text: string): string {
  const tag = '$healthscore_migration$';
  if (text.includes(tag)) throw new Error(`a migration must not contain ${tag}`);
  return `do ${tag} begin\n${text}\nend ${tag}`;
}

export function sqlMigrationProvider(read: ReadMigrationSql): MigrationProvider {
  return {
    async getMigrations() {
      const entries = await Promise.all(
        MIGRATIONS.map(async (name): Promise<[string, Migration]> => {
          const text = await read(name);
          return [name, { up: async (db) => void (await sql.raw(asSingleStatement(text)).execute(db)) }];
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}

// An arbitrary constant that names "healthscore migrations" among advisory locks.
const MIGRATION_LOCK_KEY = 4_217_001;

/**
 * Brings the schema up to date. Replicas starting together serialise on an
 * advisory lock held by one connection (on top of Kysely's own lock table,
 * whose creation can race), so each migration runs once.
 */
export async function migrateToLatest(db: Kysely<Database>, read: ReadMigrationSql): Promise<string[]> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
    try {
      const migrator = new Migrator({ db: conn, provider: sqlMigrationProvider(read) });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error;
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
    }
  });
}

/** Names of the listed migrations not yet applied (empty when current). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const applied = await sql<{ name: string }>`select name from kysely_migration`
    .execute(db)
    .then((r) => new Set(r.rows.map((row) => row.name)))
    .catch(() => new Set<string>());
  return MIGRATIONS.filter((name) => !applied.has(name));
}
