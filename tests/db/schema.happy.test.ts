import { readdir } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/db/migrations.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ROOT } from '../support/process.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

describe('schema', () => {
  it('the migration list names exactly the files in sql/, in order', async () => {
    const files = (await readdir(`${ROOT}/sql`)).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, ''));
    expect([...MIGRATIONS]).toEqual(files.sort());
  });

  // Append-only heaps ingest writes without any index, folded in by the rescoring run (sql/0035_append_only_ingest.sql).
  const APPEND_ONLY = ['usage_daily_deltas', 'rescore_marks', 'history_backfill_marks'];

  it('every per-account table has a primary key that leads with account_id (append-only heaps have none at all)', async () => {
    const { rows } = await sql<{ table_name: string; first_key: string | null }>`
      select c.table_name,
             (select a.attname from pg_index i
                join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
               where i.indrelid = (quote_ident(c.table_name))::regclass and i.indisprimary) as first_key
        from information_schema.columns c
       where c.table_schema = 'public' and c.column_name = 'account_id'`.execute(t.db);
    for (const row of rows) expect(row, row.table_name).toMatchObject({ first_key: APPEND_ONLY.includes(row.table_name) ? null : 'account_id' });
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(APPEND_ONLY));
  });

  it('both drivers read int8, numeric and date the same way', async () => {
    const { rows } = await sql<{ n: unknown; big: unknown; amount: unknown; day: unknown }>`
      select count(*) as n, 9007199254740991::int8 as big, 12.50::numeric as amount, '2027-01-31'::date as day`.execute(t.db);
    expect(rows[0]).toEqual({ n: 1, big: 9007199254740991, amount: 12.5, day: '2027-01-31' });
  });
});
