import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintainUsagePartitions } from '../../src/signals/usage-partitions.js';
import { ingestBatch, SIGNALS } from '../../src/signals/ingest.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await sql`insert into accounts (external_id, name) values ('backfill-co', 'Backfill Co')`.execute(t.db);
});
afterAll(() => t.close());

describe('partition maintenance beside ingest', () => {
  it('back-dated batches written while maintenance creates their month’s partition are all stored, once, in that partition', async () => {
    const WRITERS = 4;
    const BATCHES = 8;
    const SIZE = 50;
    let writing = true;
    let started = 0;
    let allStarted!: () => void;
    const firstBatchesStored = new Promise<void>((resolve) => (allStarted = resolve));
    const write = async (w: number) => {
      const results = [];
      for (let b = 0; b < BATCHES; b++) {
        if (b === 1 && ++started === WRITERS) allStarted();
        const items = Array.from({ length: SIZE }, (_, i) => ({
          eventId: `w${w}-b${b}-${i}`,
          account: 'backfill-co',
          // May 2019: no partition when the first batches arrive.
          occurredAt: new Date(Date.UTC(2019, 4, 1 + ((b * SIZE + i) % 28), 12)).toISOString(),
          metric: 'login',
        }));
        results.push((await ingestBatch(t.db, SIGNALS.usage, items)).summary);
      }
      return results;
    };
    // Once every writer has a batch in the default partition: two maintenance runs at a time, over and over, until the writers are done.
    const maintain = async () => {
      await firstBatchesStored;
      const inDefault = await sql<{ n: number }>`select count(*)::int as n from usage_events_default`.execute(t.db);
      expect(inDefault.rows[0]!.n).toBeGreaterThanOrEqual(WRITERS * SIZE);
      const runs = [];
      do runs.push(...(await Promise.all([maintainUsagePartitions(t.db, new Date('2019-05-15T00:00:00Z')), maintainUsagePartitions(t.db, new Date('2019-05-15T00:00:00Z'))])));
      while (writing);
      return runs;
    };
    const maintenance = maintain();
    const summaries = (await Promise.all(Array.from({ length: WRITERS }, (_, w) => write(w)))).flat();
    writing = false;
    const runs = await maintenance;

    expect(summaries.every((s) => s.created === SIZE && s.error === 0)).toBe(true);
    runs.push(await maintainUsagePartitions(t.db, new Date('2019-05-15T00:00:00Z')));
    // May to August 2019 for three tables, each created exactly once however many runs raced for it.
    expect(runs.reduce((n, r) => n + r.created, 0)).toBe(4 * 3);
    const { rows } = await sql<{ n: number; distinct: number; parts: string[] }>`
      select count(*)::int as n, count(distinct event_id)::int as distinct, array_agg(distinct tableoid::regclass::text) as parts
        from usage_events`.execute(t.db);
    expect(rows[0]).toEqual({ n: WRITERS * BATCHES * SIZE, distinct: WRITERS * BATCHES * SIZE, parts: ['usage_events_p2019_05'] });
  });
});
