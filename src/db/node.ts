import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config.js';
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
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_MAX'>,
  options: { owner?: string } = {},
) {
  if (config.DATABASE_URL) {
    return { ...createPostgresDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX }), kind: 'postgres' as const };
  }
  await mkdir(config.DATA_DIR, { recursive: true });
  // One process at a time on the embedded files (src/db/lock.ts): a CLI command beside a running service is refused, clearly.
  const release = lockDataDir(config.DATA_DIR, options.owner ?? `npm run cli (${process.argv.slice(2).join(' ')})`);
  try {
    const { createEmbeddedDb } = await import('./embedded.js');
    const { db, pg, listen, close } = await createEmbeddedDb(config.DATA_DIR);
    return {
      db,
      listen,
      /** A consistent copy of the whole database (a gzipped tarball of the data folder), taken by PGlite while it runs. */
      dump: () => pg.dumpDataDir('gzip'),
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
