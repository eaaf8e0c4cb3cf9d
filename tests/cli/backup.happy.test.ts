import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { raiseAlerts } from '../../src/alerts/index.js';
import { backupCommand, restoreCommand } from '../../src/cli/backup.js';
import { migrate, openDatabase } from '../../src/db/node.js';
import { generateDemo } from '../../src/demo/generate.js';
import { recompute } from '../../src/scoring/recompute.js';
import { onServer, seedDataDir } from '../support/db.js';

/** backup FILE and restore FILE of the embedded database: a round trip keeps every row and every score. */
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const snapshot = async (dataDir: string) => {
  const database = await openDatabase({ DATA_DIR: dataDir, DATABASE_POOL_MAX: 1 });
  try {
    const { rows } = await sql<{ table: string; n: number }>`
      select c.relname as table, (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I', c.relname), false, true, '')))[1]::text::int as n
        from pg_class c join pg_namespace s on s.oid = c.relnamespace
       where s.nspname = current_schema() and c.relkind = 'r' order by 1`.execute(database.db);
    const score = await database.db.selectFrom('health_scores').select(['account_id', 'score']).orderBy('account_id').limit(1).executeTakeFirstOrThrow();
    return { counts: Object.fromEntries(rows.map((r) => [r.table, r.n])), score };
  } finally {
    await database.close();
  }
};

describe.skipIf(onServer())('backup and restore of the embedded database', () => {
  it('restores what was backed up: the same row counts and the same score', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hs-backup-'));
    dirs.push(root);
    const dataDir = join(root, 'data');
    await seedDataDir(dataDir);
    const config = { DATA_DIR: dataDir, DATABASE_POOL_MAX: 1 };
    const database = await openDatabase(config);
    await migrate(database.db);
    await generateDemo(database.db, { accounts: 8, seed: 3 });
    await recompute(database.db, { accountIds: null, refreshDistributions: true, after: raiseAlerts });
    await database.close();
    const before = await snapshot(dataDir);
    expect(before.counts.accounts).toBe(8);

    const file = join(root, 'backup.tar.gz');
    expect(await backupCommand([file], config)).toContain(file);
    // Change the data after the backup: the restore must bring the backed-up state back.
    const changed = await openDatabase(config);
    await changed.db.updateTable('health_scores').set({ score: 1 }).execute();
    await changed.close();
    expect((await snapshot(dataDir)).score.score).toBe(1);

    expect(await restoreCommand([file], config)).toContain('restored');
    const after = await snapshot(dataDir);
    expect(after.counts).toEqual(before.counts);
    expect(after.score).toEqual(before.score);
  }, 180_000);
});
