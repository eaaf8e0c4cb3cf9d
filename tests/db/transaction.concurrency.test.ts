import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRetriedTransaction } from '../../src/db/transaction.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await sql`create table lock_order (id int primary key, n int not null default 0)`.execute(t.db);
  await sql`insert into lock_order (id) values (1), (2)`.execute(t.db);
});
afterAll(() => t.close());

/** Two transactions that update rows 1 and 2 in opposite orders, both holding the first lock until both have one. */
function opposed(run: (fn: (trx: typeof t.db) => Promise<void>) => Promise<void>) {
  let arrived = 0;
  let release!: () => void;
  const bothHoldOne = new Promise<void>((r) => (release = r));
  const worker = (first: number, second: number) =>
    run(async (trx) => {
      await sql`update lock_order set n = n + 1 where id = ${first}`.execute(trx);
      if (++arrived === 2) release();
      await bothHoldOne;
      await sql`update lock_order set n = n + 1 where id = ${second}`.execute(trx);
    });
  return Promise.allSettled([worker(1, 2), worker(2, 1)]);
}

describe.runIf(onServer())('transactions PostgreSQL aborts for a deadlock', () => {
  it('a plain transaction fails with 40P01', async () => {
    const results = await opposed((fn) => t.db.transaction().execute(fn));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect((failed[0]!.reason as { code?: string }).code).toBe('40P01');
  });

  it('inRetriedTransaction runs the loser again, so both commit', async () => {
    await sql`update lock_order set n = 0`.execute(t.db);
    const results = await opposed((fn) => inRetriedTransaction(t.db, fn));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const { rows } = await sql<{ n: number }>`select n from lock_order order by id`.execute(t.db);
    expect(rows.map((r) => r.n)).toEqual([2, 2]);
  });
});
