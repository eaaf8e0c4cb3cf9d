import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let ingestKey: string;
beforeAll(async () => {
  s = await startTestServer();
  ingestKey = await s.keyWith('ingest');
  await s.call('PUT', '/v1/accounts/acme', { body: { name: 'Acme' } });
});
afterAll(() => s.close());

type Batch = { summary: Record<string, number>; results: { index: number; result: string; errors?: { field: string; message: string }[] }[] };
const ingest = async (kind: string, items: unknown[]) => {
  const res = await s.call('POST', `/v1/${kind}/batch`, { key: ingestKey, body: { items } });
  expect(res.status).toBe(200);
  return (await res.json()) as Batch;
};
const fieldsOf = (batch: Batch) => batch.results.map((r) => (r.result === 'error' ? r.errors!.map((e) => e.field).join(',') : r.result));

const at = '2026-11-01T00:00:00Z';

describe('each signal validates its items one by one', () => {
  it('usage', async () => {
    const good = { eventId: 'e-1', account: 'acme', occurredAt: at, metric: 'login' };
    const batch = await ingest('usage', [
      good,
      { ...good, eventId: 'e-2', occurredAt: 'yesterday' },
      { ...good, eventId: 'e-3', occurredAt: new Date(Date.now() + 3 * 86400e3).toISOString() },
      { ...good, eventId: 'e-4', quantity: -1 },
      { ...good, eventId: '' },
      { ...good, eventId: 'e-6', metric: 'a\u0000b' },
      { ...good, eventId: 'e-7', account: 'nobody' },
      { ...good },
      null,
    ]);
    expect(fieldsOf(batch)).toEqual(['created', 'occurredAt', 'occurredAt', 'quantity', 'eventId', 'metric', 'account', '(item)', '(item)']);
    expect(batch.summary).toMatchObject({ created: 1, error: 8 });
  });

  it('tickets', async () => {
    const good = { ticketId: 't-1', account: 'acme', status: 'open', priority: 'high', openedAt: at, updatedAt: at };
    const batch = await ingest('tickets', [
      good,
      { ...good, ticketId: 't-2', status: 'escalated' },
      { ...good, ticketId: 't-3', priority: 'p1' },
      { ...good, ticketId: 't-4', updatedAt: undefined },
      { ...good, ticketId: 't-5', reopenCount: 1.5 },
      { ...good, ticketId: 't-6', satisfaction: 'meh' },
    ]);
    expect(fieldsOf(batch)).toEqual(['created', 'status', 'priority', 'updatedAt', 'reopenCount', 'satisfaction']);
  });

  it('surveys: each kind has its own range', async () => {
    const r = (id: string, kind: string, score: number) => ({ responseId: id, account: 'acme', kind, score, respondedAt: at });
    const batch = await ingest('surveys', [
      r('n-0', 'nps', 0),
      r('n-10', 'nps', 10),
      r('n-11', 'nps', 11),
      r('c-0', 'csat', 0),
      r('c-5', 'csat', 5),
      r('e-8', 'ces', 8),
      r('e-1', 'ces', 1),
      r('x', 'nps', 7.5),
      r('k', 'ces-ish', 3),
    ]);
    expect(fieldsOf(batch)).toEqual(['created', 'created', 'score', 'score', 'created', 'score', 'created', 'score', 'kind']);
  });

  it('contracts', async () => {
    const good = { contractId: 'k-1', account: 'acme', startDate: '2026-01-01', endDate: '2026-12-31', arr: 1000, status: 'active' };
    const batch = await ingest('contracts', [
      good,
      { ...good, contractId: 'k-2', endDate: '2025-12-31' },
      { ...good, contractId: 'k-3', status: 'paused' },
      { ...good, contractId: 'k-4', arr: -5 },
      { ...good, contractId: 'k-5', paymentStatus: 'late' },
      { ...good, contractId: 'k-6', startDate: '2026-02-30' },
    ]);
    expect(fieldsOf(batch)).toEqual(['created', 'endDate', 'status', 'arr', 'paymentStatus', 'startDate']);
  });

  it('the same natural id twice in one batch: the first is stored, the second refused', async () => {
    const e = { eventId: 'dup', account: 'acme', occurredAt: at, metric: 'login' };
    const batch = await ingest('usage', [e, { ...e, quantity: 5 }]);
    expect(batch.results.map((r) => r.result)).toEqual(['created', 'error']);
    expect(batch.results[1]!.errors![0]!.message).toContain('item 0');
  });
});

describe('whole requests that are refused', () => {
  it('more than 5,000 items, no items, or no list', async () => {
    const many = Array.from({ length: 5001 }, (_, i) => ({ eventId: `${i}`, account: 'acme', occurredAt: at, metric: 'm' }));
    for (const body of [{ items: many }, { items: [] }, { events: [] }]) {
      await expectProblem(await s.call('POST', '/v1/usage/batch', { key: ingestKey, body }), 400, 'validation_failed');
    }
  });

  it('a key without the ingest scope', async () => {
    const readKey = await s.keyWith('read', 'write');
    const res = await s.call('POST', '/v1/tickets/batch', { key: readKey, body: { items: [] } });
    await expectProblem(res, 403, 'forbidden');
  });

  it('a bad create_missing_accounts value', async () => {
    const res = await s.call('POST', '/v1/usage/batch?create_missing_accounts=yes', { key: ingestKey, body: { items: [{}] } });
    await expectProblem(res, 400, 'validation_failed');
  });
});
