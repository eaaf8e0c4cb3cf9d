import { sql } from 'kysely';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/node.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { adminUrl, databaseUrl } from './urls.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string | null;
  }
}

/**
 * With DATABASE_URL set, migrate one template database for this run; each test
 * file then gets its own copy of it, so files never see each other's rows.
 */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    project.provide('templateDatabase', null);
    return;
  }
  const name = `hs_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = createPostgresDb({ url: adminUrl(url), max: 1 });
  await sql.raw(`create database ${name}`).execute(admin.db);
  const template = createPostgresDb({ url: databaseUrl(url, name), max: 1 });
  await migrate(template.db);
  await template.close();
  project.provide('templateDatabase', name);
  return async () => {
    await sql.raw(`drop database if exists ${name} with (force)`).execute(admin.db);
    await admin.close();
  };
}
