import { PGlite, types } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { Listen } from './postgres.js';
import { markSingleSession } from './session.js';
import type { Database } from './schema.js';
import { parseDate, parseInt8, parseNumeric } from './types.js';

/**
 * Embedded PostgreSQL (PGlite). Node only: the Worker entry never imports
 * this file. `dataDir` undefined keeps the database in memory (tests).
 * `loadDataDir`, a `dumpDataDir()` tarball, starts from a copy of that
 * database instead of an empty one (tests: the run's migrated template,
 * tests/support/global-setup.ts); production never passes it.
 */
export async function createEmbeddedDb(dataDir?: string, loadDataDir?: Blob) {
  const pg = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
    parsers: {
      [types.INT8]: parseInt8,
      [types.NUMERIC]: parseNumeric,
      [types.DATE]: parseDate,
    },
  });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pg) });
  markSingleSession(db);
  const listen: Listen = async (channel, onNotify) => {
    const unlisten = await pg.listen(channel, () => onNotify());
    return () => unlisten();
  };
  return { db, pg, listen, close: () => db.destroy() };
}
