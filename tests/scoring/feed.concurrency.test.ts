import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recompute, recomputeAll } from '../../src/scoring/recompute.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
const ACCOUNTS = 120;

beforeAll(async () => {
  s = await startTestServer();
  const items = Array.from({ length: ACCOUNTS }, (_, i) => ({ externalId: `feed-${i}`, name: `Feed ${i}`, seats: 10 }));
  await s.call('POST', '/v1/accounts/batch', { body: { items } });
  // Accounts differ in how often they use the product, so the measures carry information (one value for everyone gets no weight).
  const events = items.flatMap((a, i) =>
    Array.from({ length: 1 + (i % 6) }, (_, d) => ({
      eventId: `e-${i}-${d}`,
      account: a.externalId,
      occurredAt: new Date(Date.now() - d * 3 * 86_400_000).toISOString(),
      metric: `m-${d % 3}`,
      userId: `u-${i % 5}`,
    })),
  );
  await s.call('POST', '/v1/usage/batch', { body: { items: events } });
  await recomputeAll(s.db);
});
afterAll(() => s?.close());

type Page = { items: { externalId: string; score: number }[]; nextCursor: string | null; hasMore: boolean };

describe('CRM sync feed under concurrent score changes', () => {
  it('a reader paging through the feed while scores keep changing ends with every account’s latest score', async () => {
    const ids = (await s.db.selectFrom('accounts').select('id').execute()).map((r) => r.id);
    let writing = true;
    let writes = 0;
    const writer = async (seed: number) => {
      let n = seed;
      while (writing) {
        // Each write: a pulse on a few accounts, rescored through the real path.
        const some = Array.from({ length: 5 }, () => ids[(n = (n * 1103515245 + 12345) % 2 ** 31) % ids.length]!);
        await s.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('health_pulses')
            .values(some.map((id, k) => ({ account_id: id, adjustment: ((n + k) % 41) - 20 || 1, reason: 'test', expires_at: new Date(Date.now() + 86400e3) })))
            .execute();
          await recompute(trx, { accountIds: [...new Set(some)] });
        });
        writes++;
        // Embedded PostgreSQL answers without a trip through the event loop:
        // without this pause the writers would starve the HTTP reader.
        await new Promise((r) => setImmediate(r));
      }
    };
    const writers = [writer(1), writer(7)];

    const latest = new Map<string, number>();
    let cursor: string | null = null;
    let pages = 0;
    const stopAt = Date.now() + 2500;
    for (;;) {
      const res = await s.call('GET', `/v1/health?limit=15${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as Page;
      pages++;
      for (const item of page.items) latest.set(item.externalId, item.score);
      cursor = page.nextCursor;
      if (Date.now() > stopAt && writing) {
        writing = false;
        await Promise.all(writers);
        continue; // the writers' last changes come after this page
      }
      if (!writing && !page.hasMore) break;
    }

    expect(writes).toBeGreaterThan(5);
    expect(pages).toBeGreaterThan(ACCOUNTS / 15);
    const truth = await s.db
      .selectFrom('health_scores as h')
      .innerJoin('accounts as a', 'a.id', 'h.account_id')
      .select(['a.external_id', 'h.score'])
      .execute();
    expect(truth).toHaveLength(ACCOUNTS);
    const wrong = truth.filter((t) => latest.get(t.external_id) !== Math.round(t.score! * 100) / 100);
    expect(wrong).toEqual([]);
  });
});
