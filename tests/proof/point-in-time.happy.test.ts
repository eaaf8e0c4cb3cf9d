import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recompute } from '../../src/scoring/recompute.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * A score as of a past instant T is the score the live path gave at T: the
 * live path is run with its clock frozen at T, then signals dated after T
 * arrive (usage later that same day and after, a ticket solved and one
 * opened, a survey answer, the contract churning), and the score asked for
 * `as_of` T is still exactly what it was. The live score is the as-of-now
 * case of the same computation.
 */
let s: TestServer;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
// Mid-afternoon ten days ago: T's own day is partly before and partly after it.
const T = new Date(Math.floor(Date.now() / DAY) * DAY - 10 * DAY + 15.5 * HOUR);
const at = (offsetMs: number) => new Date(T.getTime() + offsetMs).toISOString();

interface Health {
  score: number | null;
  baseScore: number | null;
  band: string | null;
  coverage: number;
  explanation: { key: string; raw: number | null; subScore: number | null; status: string; missingReason: string | null; sentence: string; points: number }[];
}

const health = async (account: string, asOf?: string) => {
  const res = await s.call('GET', `/v1/accounts/${account}/health${asOf ? `?as_of=${encodeURIComponent(asOf)}` : ''}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Health;
};
const comparable = (h: Health) => ({ score: h.score, baseScore: h.baseScore, band: h.band, coverage: h.coverage, explanation: h.explanation });

const post = async (path: string, items: unknown[]) => {
  const res = await s.call('POST', path, { body: { items } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { summary: { error: number }; results: unknown[] };
  expect(body.summary.error, JSON.stringify(body.results)).toBe(0);
};

beforeAll(async () => {
  s = await startTestServer();
  await post('/v1/accounts/batch', [
    { externalId: 'acme', name: 'Acme', seats: 10, segment: 'smb' },
    { externalId: 'bare', name: 'Bare', seats: 5, segment: 'smb' },
  ]);
  // Up to T: steady usage for 100 days, and some on T's own day before T.
  await post(
    '/v1/usage/batch',
    Array.from({ length: 100 }, (_, i) => ({ eventId: `u-${i}`, account: 'acme', occurredAt: at(-(i + 1) * DAY), metric: `m${i % 3}`, userId: `u${i % 4}` })).concat([
      { eventId: 'u-same-day', account: 'acme', occurredAt: at(-2 * HOUR), metric: 'm0', userId: 'u9' },
    ]),
  );
  await post('/v1/tickets/batch', [
    { ticketId: 't-1', account: 'acme', status: 'open', priority: 'urgent', kind: 'complaint', openedAt: at(-5 * DAY), firstResponseAt: at(-5 * DAY + HOUR), updatedAt: at(-4 * DAY), escalated: true },
    { ticketId: 't-2', account: 'acme', status: 'solved', priority: 'normal', openedAt: at(-40 * DAY), solvedAt: at(-39 * DAY), updatedAt: at(-39 * DAY), satisfaction: 'good' },
  ]);
  await post('/v1/surveys/batch', [
    { responseId: 'n-1', account: 'acme', kind: 'nps', score: 6, respondedAt: at(-20 * DAY) },
    { responseId: 'c-1', account: 'acme', kind: 'csat', score: 4, respondedAt: at(-15 * DAY) },
  ]);
  await post('/v1/contracts/batch', [
    { contractId: 'k-0', account: 'acme', startDate: at(-500 * DAY).slice(0, 10), endDate: at(-135 * DAY).slice(0, 10), arr: 20_000, seats: 12, status: 'renewed', updatedAt: at(-135 * DAY) },
    { contractId: 'k-1', account: 'acme', startDate: at(-134 * DAY).slice(0, 10), endDate: at(230 * DAY).slice(0, 10), arr: 18_000, seats: 10, status: 'active', paymentStatus: 'overdue', updatedAt: at(-3 * DAY) },
  ]);
});
afterAll(() => s?.close());

describe('point in time', () => {
  let live: Health;

  it('a past score equals what the live path returned at that instant (frozen clock), whatever arrives later', async () => {
    await recompute(s.db, { accountIds: null, at: T });
    live = await health('acme');
    expect(live.score).not.toBeNull();
    expect(live.explanation.find((e) => e.key === 'complaints')).toMatchObject({ raw: 1, status: 'ok' });
    expect(live.explanation.find((e) => e.key === 'payment')).toMatchObject({ raw: 1, status: 'ok' });
    expect(comparable(await health('acme', T.toISOString()))).toEqual(comparable(live));

    // Everything below is dated after T.
    await post('/v1/usage/batch', [
      { eventId: 'u-later-same-day', account: 'acme', occurredAt: at(2 * HOUR), metric: 'm7', userId: 'u10' },
      ...Array.from({ length: 5 }, (_, i) => ({ eventId: `u-after-${i}`, account: 'acme', occurredAt: at((i + 1) * DAY), metric: 'm8', userId: 'u11' })),
    ]);
    await post('/v1/tickets/batch', [
      { ticketId: 't-1', account: 'acme', status: 'solved', priority: 'low', kind: 'complaint', openedAt: at(-5 * DAY), firstResponseAt: at(-5 * DAY + HOUR), solvedAt: at(DAY), updatedAt: at(DAY), escalated: true, reopenCount: 3, slaBreached: true },
      { ticketId: 't-3', account: 'acme', status: 'open', priority: 'urgent', kind: 'complaint', openedAt: at(HOUR), updatedAt: at(HOUR) },
    ]);
    await post('/v1/surveys/batch', [{ responseId: 'n-2', account: 'acme', kind: 'nps', score: 10, respondedAt: at(DAY) }]);
    await post('/v1/contracts/batch', [
      { contractId: 'k-1', account: 'acme', startDate: at(-134 * DAY).slice(0, 10), endDate: at(230 * DAY).slice(0, 10), arr: 9_000, seats: 4, status: 'cancelled', paymentStatus: 'current', updatedAt: at(2 * DAY) },
    ]);

    const past = await health('acme', T.toISOString());
    expect(comparable(past)).toEqual(comparable(live));
  });

  it('nothing dated after T changes a score as of T (leakage), while the live score moves', async () => {
    await recompute(s.db, { accountIds: null });
    const now = await health('acme');
    expect(now.explanation.find((e) => e.key === 'payment')!.raw).toBe(0);
    expect(comparable(now)).not.toEqual(comparable(live));
    expect(comparable(await health('acme', T.toISOString()))).toEqual(comparable(live));
    // An instant before the later data but after T sees part of it.
    const between = await health('acme', at(DAY + HOUR));
    expect(between.explanation.find((e) => e.key === 'nps')!.raw).toBe(10);
  });

  it('the as-of-now score equals the live one', async () => {
    const instant = new Date();
    await recompute(s.db, { accountIds: null, at: instant });
    expect(comparable(await health('acme', instant.toISOString()))).toEqual(comparable(await health('acme')));
    expect(comparable(await health('bare', instant.toISOString()))).toEqual(comparable(await health('bare')));
  });
});
