import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { createEmbeddedDb } from '../../src/db/embedded.js';
import type { Database } from '../../src/db/schema.js';
import { createTestDatabase, onServer, seedDataDir, type TestDatabase } from '../support/db.js';
import { runTs } from '../support/process.js';

export interface CliDatabase {
  /** A scratch directory of this test file's own (input files go here). */
  dir: string;
  /** Runs `npm run cli -- ...args` in a child process against this database. */
  cli(...args: string[]): Promise<{ code: number | null; output: string }>;
  /**
   * Runs fn on the same database. Embedded: opens DATA_DIR once the child has
   * exited (PGlite allows one process at a time) and closes it after.
   */
  query<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The database CLI child processes of one test file use: a server copy, or an embedded DATA_DIR seeded from the migrated template. */
export async function createCliDatabase(): Promise<CliDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'hs-cli-'));
  let server: TestDatabase | null = null;
  let env: Record<string, string>;
  if (onServer()) {
    server = await createTestDatabase();
    env = { DATABASE_URL: server.url! };
  } else {
    const dataDir = join(dir, 'data');
    await seedDataDir(dataDir);
    env = { DATABASE_URL: '', DATA_DIR: dataDir };
  }
  return {
    dir,
    cli: (...args) => runTs('src/cli/main.ts', args, env),
    async query(fn) {
      if (server) return fn(server.db);
      const embedded = await createEmbeddedDb(env.DATA_DIR);
      try {
        return await fn(embedded.db);
      } finally {
        await embedded.close();
      }
    },
    async close() {
      await server?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
