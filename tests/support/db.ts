import { type Kysely, sql } from 'kysely';
import { inject } from 'vitest';
import { createEmbeddedDb } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/node.js';
import { createPostgresDb, type Listen } from '../../src/db/postgres.js';
import type { Database } from '../../src/db/schema.js';
import { adminUrl, databaseUrl } from './urls.js';

export interface TestDatabase {
  db: Kysely<Database>;
  kind: 'embedded' | 'postgres';
  /** Set on the server only: a URL other processes can use for this file's database. */
  url?: string;
  /** LISTEN for NOTIFYs on this database. */
  listen: Listen;
  close(): Promise<void>;
}

export const onServer = () => Boolean(process.env.DATABASE_URL);

/**
 * A database of this test file's own: a copy of the run's migrated template on
 * the server, or a fresh in-memory PGlite. Close it in afterAll.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const embedded = await createEmbeddedDb();
    await migrate(embedded.db);
    return { db: embedded.db, kind: 'embedded', listen: embedded.listen, close: embedded.close };
  }
  const template = inject('templateDatabase');
  if (!template) throw new Error('global setup did not create a template database');
  const name = `hs_t_${Math.random().toString(36).slice(2, 10)}`;
  const admin = createPostgresDb({ url: adminUrl(serverUrl), max: 1 });
  await sql.raw(`create database ${name} template ${template}`).execute(admin.db);
  const url = databaseUrl(serverUrl, name);
  const own = createPostgresDb({ url, max: 10 });
  return {
    db: own.db,
    kind: 'postgres',
    url,
    listen: own.listen,
    async close() {
      await own.close();
      await sql.raw(`drop database if exists ${name} with (force)`).execute(admin.db);
      await admin.close();
    },
  };
}
