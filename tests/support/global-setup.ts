import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { TestProject } from 'vitest/node';
import { createEmbeddedDb } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/node.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { buildService } from './process.js';
import { adminUrl, databaseUrl } from './urls.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string | null;
    /** Embedded only: the migrated template, as a PGlite data directory (`dir`) and its dump (`tar`). */
    embeddedTemplate: { dir: string; tar: string } | null;
  }
}

/**
 * Build the service once per run (tests/support/process.ts), and migrate once per run, so test files start from a copy instead of running
 * every migration themselves. With DATABASE_URL set: one template database on
 * the server, copied per file. Embedded: one PGlite data directory on disk,
 * plus its dump, which each file loads into an in-memory PGlite
 * (tests/support/db.ts).
 */
export default async function setup(project: TestProject) {
  // Tests that start the service or the CLI run its built JavaScript, as `npm start` does.
  buildService();
  const url = process.env.DATABASE_URL;
  if (!url) {
    project.provide('templateDatabase', null);
    const root = await mkdtemp(join(tmpdir(), 'hs-template-'));
    const dir = join(root, 'data');
    const tar = join(root, 'data.tar');
    // createEmbeddedDb, as the files' copies and the service use it: same PGlite options.
    const template = await createEmbeddedDb(dir);
    await migrate(template.db);
    // Uncompressed: loading skips the gunzip, and the file never leaves this machine.
    const dump = await template.pg.dumpDataDir('none');
    await writeFile(tar, Buffer.from(await dump.arrayBuffer()));
    await template.close();
    project.provide('embeddedTemplate', { dir, tar });
    return () => rm(root, { recursive: true, force: true });
  }
  project.provide('embeddedTemplate', null);
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
