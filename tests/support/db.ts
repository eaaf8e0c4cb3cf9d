import { cp, readFile } from 'node:fs/promises';
import { type Kysely, sql } from 'kysely';
import { inject } from 'vitest';
import { createEmbeddedDb } from '../../src/db/embedded.js';
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

const embeddedTemplate = () => {
  const template = inject('embeddedTemplate');
  if (!template) throw new Error('global setup did not create an embedded template (tests/support/global-setup.ts)');
  return template;
};

/**
 * A database of this test file's own, copied from the run's migrated template
 * (tests/support/global-setup.ts): a new database on the server, or an
 * in-memory PGlite loaded from the template's dump. Close it in afterAll.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dump = new Blob([await readFile(embeddedTemplate().tar)]);
    const embedded = await createEmbeddedDb(undefined, dump);
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

/**
 * Fills an empty folder with a copy of the migrated embedded template, for a
 * service or CLI child process started with DATA_DIR=dir: it then starts on a
 * current schema (and still bootstraps its admin key) instead of running every
 * migration. Tests about first start or migrations leave DATA_DIR empty.
 * A run with DATABASE_URL set has no embedded template: the folder stays
 * empty, and the child migrates it as before.
 */
export async function seedDataDir(dir: string): Promise<void> {
  const template = inject('embeddedTemplate');
  if (template) await cp(template.dir, dir, { recursive: true });
}
