import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { compactUsage } from '../../src/signals/usage-compaction.js';
import { foldRescoreMarks } from '../../src/scoring/rescore-marks.js';

let s: TestServer;
let ingestKey: string;
beforeAll(async () => {
  s = await startTestServer();
  ingestKey = await s.keyWith('ingest');
  await s.call('POST', '/v1/accounts/batch', {
    body: { items: ['acme', 'globex', 'initech'].map((id) => ({ externalId: id, name: id, seats: 20 })) },
  });
});
afterAll(() => s.close());

type Batch = { summary: Record<string, number>; results: { index: number; id: string | null; result: string; errors?: { field: string; message: string }[] }[] };
const ingest = async (kind: string, items: unknown[], query = '') => {
  const res = await s.call('POST', `/v1/${kind}/batch${query}`, { key: ingestKey, body: { items } });
  expect(res.status).toBe(200);
  return (await res.json()) as Batch;
};
const accountId = async (externalId: string) =>
  (await s.db.selectFrom('accounts').select('id').where('external_id', '=', externalId).executeTakeFirstOrThrow()).id;

describe('usage events', () => {
  it('are rolled up per account, UTC day and metric with distinct users, and re-sends count once', async () => {
    const day = '2026-11-02';
    const ev = (id: string, user: string | null, qty = 1, time = '10:00:00Z') => ({
      eventId: id,
      account: 'acme',
      occurredAt: `${day}T${time}`,
      metric: 'report.exported',
      quantity: qty,
      userId: user,
    });
    const first = await ingest('usage', [ev('u-1', 'ann'), ev('u-2', 'ann', 2), ev('u-3', 'bob', 3), ev('u-4', null)]);
    expect(first.summary).toMatchObject({ created: 4, error: 0 });
    // A second batch: one re-send, one new event by a known user, one by a new user, one the next UTC day.
    const second = await ingest('usage', [ev('u-1', 'ann'), ev('u-5', 'bob', 1, '23:59:59Z'), ev('u-6', 'cy', 4), { ...ev('u-7', 'cy'), occurredAt: '2026-11-03T00:00:00+00:00' }]);
    expect(second.results.map((r) => r.result)).toEqual(['unchanged', 'created', 'created', 'created']);
    await compactUsage(s.db);

    const rows = await s.db
      .selectFrom('usage_daily')
      .select(['day', 'events', 'quantity', 'active_users'])
      .where('account_id', '=', await accountId('acme'))
      .orderBy('day')
      .execute();
    expect(rows).toEqual([
      { day: '2026-11-02', events: 6, quantity: 1 + 2 + 3 + 1 + 1 + 4, active_users: 3 },
      { day: '2026-11-03', events: 1, quantity: 1, active_users: 1 },
    ]);
    const raw = await s.db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(raw.n).toBe(7);
  });
});

describe('tickets', () => {
  const ticket = (updatedAt: string, status: string, extra: Record<string, unknown> = {}) => ({
    ticketId: 'T-100',
    account: 'globex',
    status,
    priority: 'urgent',
    openedAt: '2026-11-01T09:00:00Z',
    updatedAt,
    ...extra,
  });
  const stored = () =>
    s.db.selectFrom('tickets').select(['status', 'escalated', 'source_updated_at']).where('ticket_id', '=', 'T-100').executeTakeFirstOrThrow();

  it('an older update arriving after a newer one is reported stale and changes nothing', async () => {
    expect((await ingest('tickets', [ticket('2026-11-01T10:00:00Z', 'open')])).results[0]!.result).toBe('created');
    expect((await ingest('tickets', [ticket('2026-11-03T10:00:00Z', 'solved', { escalated: true, solvedAt: '2026-11-03T10:00:00Z' })])).results[0]!.result).toBe('updated');
    expect((await ingest('tickets', [ticket('2026-11-02T10:00:00Z', 'pending')])).results[0]!.result).toBe('stale');
    expect((await ingest('tickets', [ticket('2026-11-03T10:00:00Z', 'pending')])).results[0]!.result).toBe('unchanged');
    expect(await stored()).toMatchObject({ status: 'solved', escalated: true, source_updated_at: new Date('2026-11-03T10:00:00Z') });
  });

  it('out-of-order delivery ends in the newest state whatever the order', async () => {
    const versions = Array.from({ length: 8 }, (_, i) => ({
      ...ticket(`2026-12-0${i + 1}T00:00:00Z`, i % 2 ? 'open' : 'pending', { ticketId: 'T-200', reopenCount: i }),
    }));
    for (const v of [...versions].sort(() => Math.random() - 0.5)) await ingest('tickets', [v]);
    const row = await s.db.selectFrom('tickets').select(['status', 'reopen_count']).where('ticket_id', '=', 'T-200').executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'open', reopen_count: 7 });
  });
});

describe('surveys and contracts', () => {
  it('stores survey responses of each kind; an edit is updated, a re-send unchanged', async () => {
    const items = [
      { responseId: 'r-1', account: 'initech', kind: 'nps', score: 0, respondedAt: '2026-11-01T00:00:00Z', comment: 'slow' },
      { responseId: 'r-2', account: 'initech', kind: 'csat', score: 5, respondedAt: '2026-11-01T00:00:00Z' },
      { responseId: 'r-3', account: 'initech', kind: 'ces', score: 7, respondedAt: '2026-11-01T00:00:00Z' },
    ];
    expect((await ingest('surveys', items)).summary).toMatchObject({ created: 3 });
    const again = await ingest('surveys', [items[0], { ...items[1], score: 4 }]);
    expect(again.results.map((r) => r.result)).toEqual(['unchanged', 'updated']);
  });

  it('keeps the history of contract status, value and payment changes', async () => {
    const contract = { contractId: 'C-1', account: 'initech', startDate: '2025-12-01', endDate: '2026-11-30', arr: 50000, seats: 50, status: 'active' };
    await ingest('contracts', [contract]);
    await ingest('contracts', [{ ...contract, paymentStatus: 'overdue' }]);
    await ingest('contracts', [{ ...contract, paymentStatus: 'overdue' }]);
    await ingest('contracts', [{ ...contract, status: 'downgraded', arr: 30000, seats: 30 }]);
    const history = await s.db
      .selectFrom('contract_history')
      .select(['status', 'payment_status', 'arr', 'seats'])
      .where('contract_id', '=', 'C-1')
      .orderBy('changed_at')
      .execute();
    expect(history).toEqual([
      { status: 'active', payment_status: 'current', arr: 50000, seats: 50 },
      { status: 'active', payment_status: 'overdue', arr: 50000, seats: 50 },
      { status: 'downgraded', payment_status: 'current', arr: 30000, seats: 30 },
    ]);
  });
});

describe('accounts and rescoring', () => {
  it('create_missing_accounts makes placeholder accounts instead of rejecting', async () => {
    const item = { eventId: 'x-1', account: 'brand-new', occurredAt: '2026-11-01T00:00:00Z', metric: 'login' };
    expect((await ingest('usage', [item])).results[0]!.errors![0]!.message).toContain('unknown account');
    expect((await ingest('usage', [item], '?create_missing_accounts=true')).results[0]!.result).toBe('created');
    const account = (await (await s.call('GET', '/v1/accounts/brand-new')).json()) as { name: string; attributes: Record<string, unknown> };
    expect(account).toMatchObject({ name: 'brand-new', attributes: { placeholder: true } });
  });

  it('marks accounts whose signals changed for rescoring, and only those', async () => {
    await foldRescoreMarks(s.db);
    await s.db.deleteFrom('rescore_queue').execute();
    await ingest('usage', [{ eventId: 'u-1', account: 'acme', occurredAt: '2026-11-02T10:00:00Z', metric: 'report.exported' }]);
    await foldRescoreMarks(s.db);
    expect(await s.db.selectFrom('rescore_queue').selectAll().execute()).toEqual([]);
    await ingest('surveys', [{ responseId: 'r-9', account: 'globex', kind: 'nps', score: 9, respondedAt: '2026-11-01T00:00:00Z' }]);
    await foldRescoreMarks(s.db);
    const queued = await s.db.selectFrom('rescore_queue').select('account_id').execute();
    expect(queued).toEqual([{ account_id: await accountId('globex') }]);
  });

  it('takes 5,000 items in one request', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ eventId: `bulk-${i}`, account: 'acme', occurredAt: '2026-10-01T12:00:00Z', metric: `m${i % 7}`, userId: `user-${i % 50}` }));
    const body = await ingest('usage', items);
    expect(body.summary).toMatchObject({ created: 5000, error: 0 });
    await compactUsage(s.db);
    const sum = await s.db
      .selectFrom('usage_daily')
      .select((eb) => [eb.fn.sum<number>('events').as('events'), eb.fn.sum<number>('active_users').as('users')])
      .where('day', '=', '2026-10-01')
      .executeTakeFirstOrThrow();
    expect(Number(sum.events)).toBe(5000);
    const pairs = new Set(items.map((e) => `${e.metric}/${e.userId}`));
    expect(Number(sum.users)).toBe(pairs.size);
  });
});
