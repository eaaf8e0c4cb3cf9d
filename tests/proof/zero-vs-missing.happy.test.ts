import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recompute } from '../../src/scoring/recompute.js';
import { DEFAULT_SCORECARD } from '../../src/scoring/scorecard.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * A source that is connected and reports nothing for an account is a zero;
 * one not connected is missing, and the explanation says which. Usage and
 * tickets connect for the whole workspace once anyone's arrive; survey
 * answers and contracts count per account (no NPS answer is not an NPS of 0).
 */
let s: TestServer;
const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

interface Measure { key: string; raw: number | null; status: string; missingReason: string | null; sentence: string }
const measures = async (account: string) => {
  await recompute(s.db, { accountIds: null });
  const res = await s.call('GET', `/v1/accounts/${account}/health`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { explanation: Measure[] };
  return (key: string) => body.explanation.find((e) => e.key === key)!;
};
const post = async (path: string, items: unknown[]) => expect((await s.call('POST', path, { body: { items } })).status).toBe(200);

beforeAll(async () => {
  s = await startTestServer();
  await post('/v1/accounts/batch', [
    { externalId: 'quiet', name: 'Quiet', seats: 5 },
    { externalId: 'busy', name: 'Busy', seats: 5 },
  ]);
  // Something to score for "quiet" before any other source exists: a contract.
  await post('/v1/contracts/batch', [{ contractId: 'q-1', account: 'quiet', startDate: ago(100).slice(0, 10), endDate: ago(-265).slice(0, 10), arr: 1000, status: 'active' }]);
});
afterAll(() => s?.close());

describe('zero versus missing', () => {
  it('before anyone sends usage, tickets or answers, those measures are missing: not connected', async () => {
    const m = await measures('quiet');
    for (const key of ['active_days', 'recency', 'complaints', 'open_tickets', 'nps', 'csat']) {
      expect(m(key), key).toMatchObject({ raw: null, status: 'missing', missingReason: 'not_connected' });
    }
    expect(m('active_days').sentence).toBe('Active days (30 days): no usage received from any account yet');
    expect(m('nps').sentence).toBe('Latest NPS answer: no NPS answers received for this account yet');
    expect(m('tenure')).toMatchObject({ status: 'ok' });
  });

  it('usage: once anyone’s arrives, an account without any counts as zero', async () => {
    await post('/v1/usage/batch', [{ eventId: 'b-1', account: 'busy', occurredAt: ago(1), metric: 'x', userId: 'u' }]);
    const m = await measures('quiet');
    expect(m('active_days')).toMatchObject({ raw: 0, status: 'ok' });
    expect(m('recency')).toMatchObject({ raw: 180, status: 'ok' });
  });

  it('tickets: once the help desk reports anyone’s, no tickets is zero tickets (and scores well)', async () => {
    await post('/v1/tickets/batch', [{ ticketId: 'b-t', account: 'busy', status: 'open', priority: 'high', kind: 'complaint', openedAt: ago(3), updatedAt: ago(3) }]);
    const quiet = await measures('quiet');
    expect(quiet('complaints')).toMatchObject({ raw: 0, status: 'ok', sentence: 'no complaints in 90 days' });
    expect(quiet('open_tickets')).toMatchObject({ raw: 0, status: 'ok' });
    // A ratio with nothing to divide stays without a value.
    expect(quiet('ticket_satisfaction')).toMatchObject({ raw: null, status: 'missing', missingReason: 'no_value' });
    const busy = await measures('busy');
    expect(busy('complaints')).toMatchObject({ raw: 1, status: 'ok' });
  });

  it('NPS and CSAT: another account’s answers do not make a missing answer zero', async () => {
    await post('/v1/surveys/batch', [
      { responseId: 'b-n', account: 'busy', kind: 'nps', score: 9, respondedAt: ago(2) },
      { responseId: 'b-c', account: 'busy', kind: 'csat', score: 5, respondedAt: ago(2) },
    ]);
    const m = await measures('quiet');
    expect(m('nps')).toMatchObject({ raw: null, status: 'missing', missingReason: 'not_connected' });
    expect(m('csat')).toMatchObject({ raw: null, status: 'missing', missingReason: 'not_connected' });
    const busy = await measures('busy');
    expect(busy('nps')).toMatchObject({ raw: 9, status: 'ok' });
  });

  it('contracts: per account; an account without one has its commercial measures missing', async () => {
    const m = await measures('busy');
    expect(m('tenure')).toMatchObject({ raw: null, status: 'missing', missingReason: 'not_connected' });
    expect(m('payment')).toMatchObject({ raw: null, status: 'missing', missingReason: 'not_connected' });
  });

  it('the rule is configurable per source: NPS by workspace turns a missing answer into no value, not zero', async () => {
    const card = structuredClone(DEFAULT_SCORECARD);
    card.connected = { ...card.connected!, nps: 'workspace', usage: 'account' };
    const created = (await (await s.call('POST', '/v1/scorecards', { body: { segment: null, definition: card } })).json()) as { id: number };
    expect((await s.call('POST', `/v1/scorecards/${created.id}/activate`)).status).toBe(200);
    const m = await measures('quiet');
    expect(m('nps')).toMatchObject({ raw: null, status: 'missing', missingReason: 'no_value' });
    expect(m('active_days')).toMatchObject({ raw: null, status: 'missing', missingReason: 'not_connected' });
  });

  it('stale data beyond a freshness limit is missing as stale', async () => {
    await post('/v1/surveys/batch', [{ responseId: 'q-old', account: 'quiet', kind: 'csat', score: 2, respondedAt: ago(200) }]);
    const m = await measures('quiet');
    expect(m('csat')).toMatchObject({ raw: null, status: 'missing', missingReason: 'stale' });
  });
});

describe('explanations in the reader’s language', () => {
  it('translates labels and sentences for Accept-Language zh-CN, missing reasons included', async () => {
    const res = await s.call('GET', '/v1/accounts/quiet/health', { headers: { 'accept-language': 'zh-CN,zh;q=0.9' } });
    expect(res.headers.get('vary')).toContain('Accept-Language');
    const body = (await res.json()) as { explanation: Measure[] };
    const complaints = body.explanation.find((e) => e.key === 'complaints')!;
    expect(complaints.sentence).toMatch(/[\u4e00-\u9fff]/);
    const csat = body.explanation.find((e) => e.key === 'csat')!;
    expect(csat.missingReason).toBe('stale');
    expect(csat.sentence).toMatch(/[\u4e00-\u9fff]/);
    const english = (await (await s.call('GET', '/v1/accounts/quiet/health')).json()) as { explanation: Measure[] };
    expect(english.explanation.find((e) => e.key === 'complaints')!.sentence).toBe('no complaints in 90 days');
  });
});
