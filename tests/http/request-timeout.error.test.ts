import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ requestTimeoutMs: 1_000 });
  await s.call('PUT', '/v1/accounts/slow-co', { body: { name: 'Slow Co' } });
});
afterAll(() => s?.close());

describe('REQUEST_TIMEOUT_MS', () => {
  it('a request stuck on the database is answered 503 with Retry-After, and nothing of it is acknowledged', async () => {
    const { id } = await s.db.selectFrom('accounts').select('id').where('external_id', '=', 'slow-co').executeTakeFirstOrThrow();
    const item = { eventId: 'stuck-1', account: 'slow-co', occurredAt: '2026-11-01T00:00:00.000Z', metric: 'login' };
    // An uncommitted insert of the same event holds the request's own insert (on the embedded database, its only connection).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    const holder = s.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('usage_events').values({ account_id: id, event_id: item.eventId, occurred_at: new Date(item.occurredAt), metric: item.metric, quantity: 1 }).execute();
        held();
        await gate;
        throw new Error('roll back');
      })
      .catch(() => {});
    await holding;
    try {
      const res = await s.call('POST', '/v1/usage/batch', { body: { items: [item] } });
      await expectProblem(res, 503, 'unavailable');
      expect(res.headers.get('retry-after')).toBe('2');
    } finally {
      release();
      await holder;
    }
    // The client retries and is answered in full.
    const retry = await s.call('POST', '/v1/usage/batch', { body: { items: [item] } });
    expect(retry.status).toBe(200);
  });
});
