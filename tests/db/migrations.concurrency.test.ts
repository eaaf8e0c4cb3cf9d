import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/db/migrations.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { onServer } from '../support/db.js';
import { runTs } from '../support/process.js';
import { adminUrl, databaseUrl } from '../support/urls.js';

describe.runIf(onServer())('migrations on a PostgreSQL server', () => {
  it('four replicas migrating an empty database at once apply each migration exactly once', async () => {
    const serverUrl = process.env.DATABASE_URL!;
    const name = `hs_mig_${Math.random().toString(36).slice(2, 10)}`;
    const admin = createPostgresDb({ url: adminUrl(serverUrl), max: 1 });
    await sql.raw(`create database ${name}`).execute(admin.db);
    const url = databaseUrl(serverUrl, name);
    try {
      const runs = await Promise.all(Array.from({ length: 4 }, () => runTs('src/cli/main.ts', ['migrate'], { DATABASE_URL: url })));
      for (const run of runs) expect(run.code, run.output).toBe(0);
      expect(runs.filter((r) => r.output.includes('applied')).length).toBe(1);
      const db = createPostgresDb({ url, max: 1 });
      const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db.db);
      await db.close();
      expect(rows.map((r) => r.name)).toEqual([...MIGRATIONS]);
    } finally {
      await sql.raw(`drop database if exists ${name} with (force)`).execute(admin.db);
      await admin.close();
    }
  });
});
