import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { lockDataDir } from './lock.js';
import { migrateToLatest, type ReadMigrationSql } from './migrations.js';
import { createPostgresDb } from './postgres.js';

export const readMigrationFile: ReadMigrationSql = (name) =>
  readFile(new URL(`../../sql/${name}.sql`, import.meta.url), 'utf8');

/**
 * The database for a Node process: a postgres.js pool when DATABASE_URL is
 * set, else embedded PostgreSQL persisted under DATA_DIR.
 */
export async function openDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_MAX'> & Partial<Pick<Config, 'DATABASE_ACQUIRE_TIMEOUT_MS' | 'DATABASE_MAX_WAITING'>>,
  options: { owner?: string; logger?: Logger } = {},
) {
  if (config.DATABASE_URL) {
    const pool = createPostgresDb({
      url: config.DATABASE_URL,
      max: config.DATABASE_POOL_MAX,
      acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
      maxWaiting: config.DATABASE_MAX_WAITING,
      logger: options.logger,
    });
    return { ...pool, kind: 'postgres' as const };
  }
  await mkdir(config.DATA_DIR, { recursive: true });
  // One process at a time on the embedded files (src/db/lock.ts): a CLI command beside a running service is refused, clearly.
  const release = lockDataDir(config.DATA_DIR, options.owner ?? `npm run cli (${process.argv.slice(2).join(' ')})`);
  try {
    const { createEmbeddedDb } = await import('./embedded.js');
    const { db, listen, close } = await createEmbeddedDb(config.DATA_DIR);
    return {
      db,
      listen,
      breaker: undefined,
      close: async () => {
        await close();
        release();
      },
      kind: 'embedded' as const,
    };
  } catch (err) {
    release();
    throw err;
  }
}

export const migrate = (db: Parameters<typeof migrateToLatest>[0]) => migrateToLatest(db, readMigrationFile);
