import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDb } from '../../src/db/postgres.js';
import { dropExpiredUsagePartitions, maintainUsagePartitions } from '../../src/signals/usage-partitions.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

describe('usage partitions: refusals', () => {
  it('the partition function refuses a table that is not a partitioned usage table', async () => {
    await expect(sql`select usage_month_partition('accounts', '2040-01-01')`.execute(t.db)).rejects.toThrow(/not a partitioned usage table: accounts/);
  });
});

// A second session holding locks needs a second connection: the embedded database has one.
describe.runIf(onServer())('usage partitions: a table busy with a long transaction', () => {
  it('maintenance and retention give up on its lock after the timeout, count it busy, and finish on the next run', async () => {
    const other = createPostgresDb({ url: t.url!, max: 1 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    try {
      // A long reader of usage_events: locks the table and every partition until it ends.
      const reader = other.db.transaction().execute(async (trx) => {
        await sql`select count(*) from usage_events`.execute(trx);
        holding();
        await released;
      });
      await held;
      const january2040 = new Date('2040-01-15T00:00:00Z');
      // The rollups are free; usage_events (its default partition is read) is not.
      expect(await maintainUsagePartitions(t.db, january2040)).toEqual({ created: 8, busy: 4, analyzed: 1 });
      // Retention two years later: every month of usage_events is past it, and every drop waits on the reader.
      const later = new Date('2042-06-01T00:00:00Z');
      const blocked = await dropExpiredUsagePartitions(t.db, later, 30);
      expect(blocked.partitionsDropped).toBe(0);
      expect(blocked.busy).toBeGreaterThan(0);
      release();
      await reader;

      expect(await maintainUsagePartitions(t.db, january2040)).toEqual({ created: 4, busy: 0, analyzed: 1 });
      const done = await dropExpiredUsagePartitions(t.db, later, 30);
      expect(done).toMatchObject({ busy: 0, keptForLateEvents: 0 });
      expect(done.partitionsDropped).toBeGreaterThanOrEqual(4);
      const left = await sql<{ n: number }>`
        select count(*)::int as n from pg_inherits where inhparent = 'usage_events'::regclass`.execute(t.db);
      expect(left.rows[0]!.n).toBe(1); // the default partition
    } finally {
      release();
      await other.close();
    }
  });
});
