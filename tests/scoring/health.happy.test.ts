import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recomputeAll, recomputeDirty } from '../../src/scoring/recompute.js';
import { DEFAULT_SCORECARD } from '../../src/scoring/scorecard.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
const day = 86400e3;
const ago = (days: number) => new Date(Date.now() - days * day).toISOString();

type Health = {
  score: number | null;
  band: string | null;
  coverage: number;
  scorecard: { version: number; segment: string | null };
  pulse: { adjustment: number; reason: string } | null;
  explanation: { key: string; raw: number | null; subScore: number | null; points: number; status: string; sentence: string }[];
};
const health = async (id: string) => (await (await s.call('GET', `/v1/accounts/${id}/health`)).json()) as Health;
const measure = (h: Health, key: string) => h.explanation.find((e) => e.key === key)!;

beforeAll(async () => {
  s = await startTestServer();
  await s.call('POST', '/v1/accounts/batch', {
    body: {
      items: [
        { externalId: 'thriving', name: 'Thriving', seats: 10, segment: 'smb' },
        { externalId: 'struggling', name: 'Struggling', seats: 10, segment: 'smb' },
        { externalId: 'quiet', name: 'Quiet', seats: 10, segment: 'enterprise' },
      ],
    },
  });
  const usage = (account: string, users: number, days: number, perDay: number) =>
    Array.from({ length: days * perDay }, (_, i) => ({
      eventId: `${account}-${i}`,
      account,
      occurredAt: ago(Math.floor(i / perDay)),
      metric: `feature-${i % 6}`,
      userId: `u${i % users}`,
    }));
  await s.call('POST', '/v1/usage/batch', { body: { items: [...usage('thriving', 9, 40, 6), ...usage('struggling', 2, 3, 1).map((e) => ({ ...e, occurredAt: ago(20 + Math.random()) }))] } });
  await s.call('POST', '/v1/tickets/batch', {
    body: {
      items: [
        { ticketId: 's-1', account: 'struggling', status: 'open', priority: 'urgent', openedAt: ago(9), updatedAt: ago(1), escalated: true },
        { ticketId: 's-2', account: 'struggling', status: 'open', priority: 'urgent', openedAt: ago(8), updatedAt: ago(1), slaBreached: true },
        { ticketId: 't-1', account: 'thriving', status: 'solved', priority: 'low', openedAt: ago(30), solvedAt: ago(29), updatedAt: ago(29), satisfaction: 'good' },
      ],
    },
  });
  await s.call('POST', '/v1/surveys/batch', {
    body: {
      items: [
        { responseId: 'n-1', account: 'thriving', kind: 'nps', score: 10, respondedAt: ago(10) },
        { responseId: 'n-2', account: 'struggling', kind: 'nps', score: 2, respondedAt: ago(5) },
        { responseId: 'n-old', account: 'quiet', kind: 'nps', score: 10, respondedAt: ago(300) },
      ],
    },
  });
  await s.call('POST', '/v1/contracts/batch', {
    body: {
      items: [
        { contractId: 'c-t', account: 'thriving', startDate: ago(200).slice(0, 10), endDate: ago(-200).slice(0, 10), arr: 12000, seats: 10, status: 'active', autoRenew: true },
        { contractId: 'c-s0', account: 'struggling', startDate: ago(700).slice(0, 10), endDate: ago(335).slice(0, 10), arr: 20000, seats: 20, status: 'renewed' },
        { contractId: 'c-s1', account: 'struggling', startDate: ago(334).slice(0, 10), endDate: ago(-20).slice(0, 10), arr: 10000, seats: 10, status: 'active', paymentStatus: 'overdue' },
      ],
    },
  });
  const run = await recomputeDirty(s.db);
  expect(run.claimed).toBe(3);
});
afterAll(() => s.close());

describe('health', () => {
  it('scores, bands and explains every measure in words', async () => {
    const good = await health('thriving');
    const bad = await health('struggling');
    expect(good.band).toBe('green');
    expect(bad.band).toBe('red');
    expect(good.score!).toBeGreaterThan(bad.score!);
    expect(measure(good, 'adoption')).toMatchObject({ raw: 0.9, status: 'ok', sentence: '90% of seats active in the last 30 days' });
    expect(measure(bad, 'oldest_urgent').sentence).toBe('an urgent or high ticket open for 9 days');
    expect(measure(bad, 'nps').sentence).toBe('latest NPS answer 2 (detractor)');
    expect(measure(bad, 'payment').sentence).toBe('payment is overdue');
    expect(measure(bad, 'contraction').sentence).toBe('seats or ARR down 50% at last renewal');
    // Points add up to the score.
    const sum = good.explanation.reduce((acc, e) => acc + e.points, 0);
    expect(sum).toBeCloseTo(good.score!, 0);
  });

  it('shows coverage instead of averaging over missing data; stale answers count as missing, connected sources count zero', async () => {
    const quiet = await health('quiet');
    const nps = measure(quiet, 'nps') as ReturnType<typeof measure> & { missingReason: string };
    expect(nps.status).toBe('missing');
    expect(nps.missingReason).toBe('stale');
    expect(nps.sentence).toContain('older than 180 days');
    // No contract of its own yet: commercial measures are missing, not zero.
    expect(measure(quiet, 'tenure')).toMatchObject({ status: 'missing', missingReason: 'not_connected' });
    // Usage and tickets flow in for others: for this account, none is zero.
    expect(measure(quiet, 'active_days')).toMatchObject({ status: 'ok', raw: 0 });
    expect(measure(quiet, 'complaints')).toMatchObject({ status: 'ok', raw: 0, sentence: 'no complaints in 90 days' });
    expect(quiet.coverage).toBeGreaterThan(0);
    expect(quiet.coverage).toBeLessThan(1);
  });

  it('a new signal moves the score after the incremental run, and only the touched account is recomputed', async () => {
    const before = await health('struggling');
    await s.call('POST', '/v1/tickets/batch', {
      body: {
        items: [
          { ticketId: 's-1', account: 'struggling', status: 'solved', priority: 'urgent', openedAt: ago(9), solvedAt: ago(0), updatedAt: ago(0), escalated: true },
          { ticketId: 's-2', account: 'struggling', status: 'solved', priority: 'urgent', openedAt: ago(8), solvedAt: ago(0), updatedAt: ago(0), slaBreached: true },
        ],
      },
    });
    const run = await recomputeDirty(s.db);
    expect(run.claimed).toBe(1);
    const after = await health('struggling');
    expect(after.score!).toBeGreaterThan(before.score!);
    expect(measure(after, 'open_tickets').sentence).toBe('no open tickets');
    expect((await recomputeDirty(s.db)).claimed).toBe(0);
  });

  it('a CSM pulse adjusts the score, shows in the explanation and is attributed in history', async () => {
    const before = await health('thriving');
    const res = await s.call('POST', '/v1/accounts/thriving/health/pulse', {
      body: { adjustment: -15, reason: 'champion is leaving', expiresAt: new Date(Date.now() + 14 * day).toISOString() },
    });
    expect(res.status).toBe(201);
    const after = (await res.json()) as Health & { baseScore: number };
    expect(after.pulse).toMatchObject({ adjustment: -15, reason: 'champion is leaving' });
    expect(after.score).toBeCloseTo(before.score! - 15, 1);
    expect(after.baseScore).toBeCloseTo(before.score!, 1);
    const history = (await (await s.call('GET', '/v1/accounts/thriving/health/history')).json()) as {
      items: { reason: string; changes: { key: string; delta: number }[] }[];
    };
    expect(history.items.some((i) => i.changes.some((c) => c.key === 'pulse' && c.delta === -15))).toBe(true);
  });

  it('a full recompute of unchanged data changes nothing', async () => {
    await recomputeAll(s.db);
    const second = await recomputeAll(s.db);
    expect(second.changed).toBe(0);
    expect(second.bandChanges).toEqual([]);
  });
});

describe('scorecards', () => {
  it('a segment scorecard applies to its segment once activated, and what-if previews it first', async () => {
    const strict = structuredClone(DEFAULT_SCORECARD);
    strict.name = 'SMB strict';
    strict.bands = { green: 95, red: 90, hysteresis: 0 };
    const preview = (await (await s.call('POST', '/v1/scorecards/preview', { body: { segment: 'smb', definition: strict } })).json()) as {
      accounts: number;
      bands: Record<string, number>;
      bandChanges: { total: number; items: { externalId: string; previewBand: string }[] };
    };
    expect(preview.accounts).toBe(2);
    expect(preview.bandChanges.items.map((c) => [c.externalId, c.previewBand])).toContainEqual(['thriving', 'red']);
    expect(preview.bandChanges.items.every((c) => c.previewBand === 'red')).toBe(true);
    expect((await health('thriving')).band).not.toBe('red'); // the preview wrote nothing

    const created = (await (await s.call('POST', '/v1/scorecards', { body: { segment: 'smb', definition: strict } })).json()) as { id: number; version: number; active: boolean };
    expect(created).toMatchObject({ version: 1, active: false });
    const activated = await s.call('POST', `/v1/scorecards/${created.id}/activate`);
    expect(activated.status).toBe(200);
    const run = await recomputeDirty(s.db);
    expect(run.claimed).toBe(2); // the two smb accounts were queued by the activation
    const h = await health('thriving');
    expect(h.scorecard).toMatchObject({ segment: 'smb', version: 1 });
    expect(h.band).toBe('red');
    expect((await health('quiet')).scorecard.segment).toBeNull();

    const list = (await (await s.call('GET', '/v1/scorecards?segment=smb')).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
  });

  it('refuses an invalid scorecard with field errors', async () => {
    const bad = structuredClone(DEFAULT_SCORECARD) as unknown as { bands: { green: number; red: number }; groups: { measures: { mapping: unknown; feature: string }[] }[] };
    bad.bands.green = 10;
    bad.groups[0]!.measures[0]!.mapping = { type: 'linear', points: [[0, 0], [1, 100], [2, 0]] };
    bad.groups[0]!.measures[1]!.feature = 'vibes';
    const res = await s.call('POST', '/v1/scorecards', { body: { segment: null, definition: bad } });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string }[] };
    const fields = problem.errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.definition.bands', 'body.definition.groups.0.measures.0.mapping', 'body.definition.groups.0.measures.1.feature']));
  });
});

describe('CRM sync feed', () => {
  it('lists scores in change order and as CSV', async () => {
    const page = (await (await s.call('GET', '/v1/health?limit=2')).json()) as { items: { externalId: string }[]; nextCursor: string; hasMore: boolean };
    expect(page.items).toHaveLength(2);
    expect(page.hasMore).toBe(true);
    const rest = (await (await s.call('GET', `/v1/health?cursor=${page.nextCursor}`)).json()) as { items: { externalId: string }[] };
    expect([...page.items, ...rest.items].map((i) => i.externalId).sort()).toEqual(['quiet', 'struggling', 'thriving']);
    const csv = await s.call('GET', '/v1/health?format=csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('externalId,name,owner,segment,score,band,coverage,churnProbability,scorecardVersion,scorecardSegment,updatedAt');
    expect(lines).toHaveLength(4);
  });
});
