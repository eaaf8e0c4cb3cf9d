import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raiseAlerts } from '../../src/alerts/after-scoring.js';
import { sweepAlerts } from '../../src/alerts/evaluate.js';
import { recomputeDirty } from '../../src/scoring/recompute.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { HEALTHY, STRUGGLING, daysFromNow, eventsOf, makeAccount, setScore } from './fixtures.js';

let s: TestServer;
let readKey: string;
let writeKey: string;
const ids: Record<string, number> = {};

type Alert = {
  id: number;
  account: { externalId: string };
  ruleKey: string;
  severity: string;
  status: string;
  assignee: string | null;
  assignedVia: string | null;
  reasons: string[];
  metrics: Record<string, unknown>;
  snoozedUntil: string | null;
  resolution: string | null;
  resolvedBy: string | null;
  outcome: string | null;
  outcomeNote: string | null;
  history: { action: string; actor: string; details: Record<string, unknown> }[];
};
type Page = { items: Alert[]; nextCursor: string | null; hasMore: boolean };

const json = async <T>(res: Response, status = 200) => {
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as T;
};
const list = async (query = '') => json<Page>(await s.call('GET', `/v1/alerts${query}`, { key: readKey }));
const alertFor = async (account: string, rule: string) => (await list(`?account=${account}&rule=${rule}`)).items[0]!;

beforeAll(async () => {
  s = await startTestServer();
  readKey = await s.keyWith('read');
  writeKey = await s.keyWith('write');
  ids.acme = await makeAccount(s.db, { externalId: 'acme', retentionOwner: 'rita@example.com' });
  ids.globex = await makeAccount(s.db, { externalId: 'globex' });
  ids.initech = await makeAccount(s.db, { externalId: 'initech' });
  await setScore(s.db, ids.acme, 30, 'red', STRUGGLING);
  await setScore(s.db, ids.globex, 35, 'red', STRUGGLING);
  await setScore(s.db, ids.initech, 75, 'green', HEALTHY);
  await s.db
    .insertInto('contracts')
    .values({ account_id: ids.initech, contract_id: 'I-1', start_date: daysFromNow(-300), end_date: daysFromNow(20), arr: 5, status: 'active', payment_status: 'overdue' })
    .execute();
  await sweepAlerts(s.db);
});
afterAll(() => s.close());

describe('listing', () => {
  it('filters by status, severity, assignee, rule and account', async () => {
    const all = await list();
    expect(all.items.map((a) => [a.account.externalId, a.ruleKey]).sort()).toEqual([
      ['acme', 'entered_red'],
      ['globex', 'entered_red'],
      ['initech', 'payment_overdue_near_renewal'],
    ]);
    expect((await list('?severity=critical')).items.map((a) => a.account.externalId)).toEqual(['initech']);
    expect((await list('?severity=high,critical&status=open')).items).toHaveLength(3);
    expect((await list('?assignee=rita@example.com')).items.map((a) => a.account.externalId)).toEqual(['acme']);
    expect((await list('?unassigned=true')).items).toHaveLength(2);
    expect((await list('?rule=entered_red&account=globex')).items).toHaveLength(1);
    expect((await list('?status=resolved')).items).toHaveLength(0);
  });

  it('pages newest first with a keyset cursor', async () => {
    const all = (await list()).items.map((a) => a.id);
    const seen: number[] = [];
    let page = await list('?limit=1');
    for (;;) {
      seen.push(...page.items.map((a) => a.id));
      if (!page.hasMore) break;
      page = await list(`?limit=1&cursor=${page.nextCursor}`);
    }
    expect(seen).toEqual(all);
    expect(all).toEqual([...all].sort((a, b) => b - a));
  });
});

describe('lifecycle', () => {
  it('acknowledge, snooze (and wake), assign, resolve with an outcome — each in the history and the outbox', async () => {
    const { id } = await alertFor('acme', 'entered_red');
    const act = (action: string, body?: unknown) => s.call('POST', `/v1/alerts/${id}/${action}`, { key: writeKey, body });

    expect((await json<Alert>(await act('acknowledge'))).status).toBe('acknowledged');
    const until = new Date(Date.now() + 86400e3).toISOString();
    const snoozed = await json<Alert>(await act('snooze', { until, note: 'customer on holiday' }));
    expect(snoozed).toMatchObject({ status: 'snoozed', snoozedUntil: until });

    // The snooze ends: the sweep reopens it.
    await sql`update alerts set snoozed_until = now() - interval '1 minute' where id = ${id}`.execute(s.db);
    expect((await sweepAlerts(s.db)).unsnoozed).toBe(1);
    expect((await json<Alert>(await s.call('GET', `/v1/alerts/${id}`, { key: readKey }))).status).toBe('open');

    expect(await json<Alert>(await act('assign', { assignee: 'sam@example.com' }))).toMatchObject({ assignee: 'sam@example.com', assignedVia: 'manual' });
    const resolved = await json<Alert>(await act('resolve', { outcome: 'saved', note: 'exec sponsor call, discount agreed' }));
    expect(resolved).toMatchObject({
      status: 'resolved', resolution: 'manual', resolvedBy: 'test-write', outcome: 'saved', outcomeNote: 'exec sponsor call, discount agreed',
    });
    expect(resolved.history.map((h) => [h.action, h.actor])).toEqual([
      ['opened', 'system'],
      ['acknowledged', 'test-write'],
      ['snoozed', 'test-write'],
      ['unsnoozed', 'system'],
      ['assigned', 'test-write'],
      ['resolved', 'test-write'],
    ]);
    expect(resolved.history[2]!.details).toMatchObject({ until, note: 'customer on holiday' });

    const events = await eventsOf(s.db, ids.acme!);
    expect(events.map((e) => e.type)).toEqual([
      'churn_risk.opened',
      'churn_risk.updated',
      'churn_risk.updated',
      'churn_risk.updated',
      'churn_risk.updated',
      'churn_risk.resolved',
    ]);
    expect(events.at(-1)!.payload).toMatchObject({
      account: { externalId: 'acme' },
      score: 30,
      band: 'red',
      alert: { id, status: 'resolved', outcome: 'saved' },
      change: { action: 'resolved', actor: 'test-write', details: { outcome: 'saved' } },
    });
    expect(Array.isArray(events.at(-1)!.payload.explanation)).toBe(true);
  });

  it('refuses changes to a resolved alert (409) and sends nothing for them', async () => {
    const { id } = await alertFor('acme', 'entered_red');
    const before = (await eventsOf(s.db, ids.acme!)).length;
    await expectProblem(await s.call('POST', `/v1/alerts/${id}/acknowledge`, { key: writeKey }), 409, 'conflict');
    await expectProblem(await s.call('POST', `/v1/alerts/${id}/resolve`, { key: writeKey, body: { outcome: 'churned' } }), 409, 'conflict');
    await expectProblem(
      await s.call('POST', `/v1/alerts/${id}/snooze`, { key: writeKey, body: { until: new Date(Date.now() + 3600e3).toISOString() } }),
      409,
      'conflict',
    );
    expect((await eventsOf(s.db, ids.acme!)).length).toBe(before);
  });

  it('an alert that resolved itself takes its outcome later', async () => {
    await setScore(s.db, ids.globex!, 60, 'yellow', HEALTHY);
    await sweepAlerts(s.db);
    const { id, status, resolution } = (await list('?account=globex')).items[0]!;
    expect([status, resolution]).toEqual(['resolved', 'condition_cleared']);
    const res = await json<Alert>(await s.call('POST', `/v1/alerts/${id}/resolve`, { key: writeKey, body: { outcome: 'churned', note: 'left anyway' } }));
    expect(res).toMatchObject({ status: 'resolved', resolution: 'condition_cleared', outcome: 'churned', resolvedBy: 'system' });
    expect(res.history.map((h) => h.action)).toEqual(['opened', 'resolved', 'outcome_recorded']);
  });

  it('summarises outcomes per rule', async () => {
    const { items } = await json<{ items: { ruleKey: string; unresolved: number; resolved: number; outcomes: Record<string, number>; resolutions: Record<string, number> }[] }>(
      await s.call('GET', '/v1/alerts/outcomes', { key: readKey }),
    );
    expect(items.find((i) => i.ruleKey === 'entered_red')).toMatchObject({
      unresolved: 0,
      resolved: 2,
      outcomes: { saved: 1, churned: 1, false_alarm: 0, other: 0, unrecorded: 0 },
      resolutions: { manual: 1, condition_cleared: 1, rule_removed: 0 },
    });
    expect(items.find((i) => i.ruleKey === 'payment_overdue_near_renewal')).toMatchObject({ unresolved: 1, resolved: 0 });
  });
});

describe('security and errors', () => {
  it('needs a key, read for GETs and write for actions', async () => {
    const { id } = await alertFor('initech', 'payment_overdue_near_renewal');
    await expectProblem(await s.call('GET', '/v1/alerts', { key: null }), 401, 'unauthorized');
    await expectProblem(await s.call('POST', `/v1/alerts/${id}/acknowledge`, { key: readKey }), 403, 'forbidden');
    await expectProblem(await s.call('POST', '/v1/alert-rules', { key: writeKey, body: { definition: {} } }), 403, 'forbidden');
    await expectProblem(await s.call('POST', '/v1/alert-rules/1/activate', { key: writeKey }), 403, 'forbidden');
    await expectProblem(await s.call('PUT', '/v1/retention-pool/ann', { key: writeKey }), 403, 'forbidden');
    expect((await s.call('GET', `/v1/alerts/${id}`, { key: readKey })).status).toBe(200);
    expect((await s.call('GET', '/v1/alert-rules', { key: readKey })).status).toBe(200);
    // Nothing changed.
    expect((await alertFor('initech', 'payment_overdue_near_renewal')).status).toBe('open');
  });

  it('rejects bad input with field errors', async () => {
    const { id } = await alertFor('initech', 'payment_overdue_near_renewal');
    const fields = async (res: Response) => (await expectProblem(res, 400, 'validation_failed')).errors!.map((e) => e.field);
    expect(await fields(await s.call('GET', '/v1/alerts/abc', { key: readKey }))).toEqual(['params.id']);
    expect(await fields(await s.call('GET', '/v1/alerts?status=open,bogus', { key: readKey }))).toEqual(['query.status']);
    expect(await fields(await s.call('GET', '/v1/alerts?cursor=nonsense', { key: readKey }))).toEqual(['query.cursor']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/snooze`, { key: writeKey, body: { until: '2020-01-01T00:00:00Z' } }))).toEqual(['body.until']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/resolve`, { key: writeKey, body: { outcome: 'maybe' } }))).toEqual(['body.outcome']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/resolve`, { key: writeKey, body: { outcome: 'other' } }))).toEqual(['body.note']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/assign`, { key: writeKey, body: { assignee: '' } }))).toEqual(['body.assignee']);
    await expectProblem(
      await s.call('POST', `/v1/alerts/${id}/assign`, { key: writeKey, body: 'assignee=x', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    expect((await alertFor('initech', 'payment_overdue_near_renewal')).status).toBe('open');
  });

  it('404 for an unknown alert or rule set', async () => {
    await expectProblem(await s.call('GET', '/v1/alerts/987654', { key: readKey }), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/alerts/987654/acknowledge', { key: writeKey }), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/alerts/987654/resolve', { key: writeKey, body: { outcome: 'saved' } }), 404, 'not_found');
    await expectProblem(await s.call('GET', '/v1/alert-rules/987654', { key: readKey }), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/alert-rules/987654/activate'), 404, 'not_found');
  });
});

describe('rule sets and the pool (admin)', () => {
  type RuleSet = { id: number; version: number; active: boolean; createdBy: string | null; definition: { cooldownHours: number; rules: { key: string }[] } };

  it('lists the shipped default, creates a version and activates it; rules it drops resolve their alerts', async () => {
    const { items } = await json<{ items: RuleSet[] }>(await s.call('GET', '/v1/alert-rules', { key: readKey }));
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ version: 1, active: true, createdBy: 'system' });
    const definition = items[0]!.definition;

    const bad = structuredClone(definition) as unknown as { rules: { params: Record<string, unknown> }[] };
    bad.rules[1]!.params.points = -3;
    const problem = await expectProblem(await s.call('POST', '/v1/alert-rules', { body: { definition: bad } }), 400, 'validation_failed');
    expect(problem.errors!.map((e) => e.field)).toContain('body.definition.rules.1.params.points');

    const next = { ...definition, cooldownHours: 12, rules: definition.rules.filter((r) => r.key !== 'payment_overdue_near_renewal') };
    const created = await json<RuleSet>(await s.call('POST', '/v1/alert-rules', { body: { definition: next } }), 201);
    expect(created).toMatchObject({ version: 2, active: false, createdBy: 'test-admin', definition: { cooldownHours: 12 } });
    expect(await json<RuleSet>(await s.call('POST', `/v1/alert-rules/${created.id}/activate`))).toMatchObject({ version: 2, active: true });
    const after = await json<{ items: RuleSet[] }>(await s.call('GET', '/v1/alert-rules', { key: readKey }));
    expect(after.items.map((r) => [r.version, r.active])).toEqual([[1, false], [2, true]]);
    expect((await json<RuleSet>(await s.call('GET', `/v1/alert-rules/${created.id}`, { key: readKey }))).version).toBe(2);

    await sweepAlerts(s.db);
    expect(await alertFor('initech', 'payment_overdue_near_renewal')).toMatchObject({ status: 'resolved', resolution: 'rule_removed' });
  });

  it('manages the retention pool', async () => {
    expect((await s.call('PUT', '/v1/retention-pool/ann@example.com')).status).toBe(201);
    expect((await s.call('PUT', '/v1/retention-pool/ann@example.com')).status).toBe(200);
    const pool = await json<{ items: { member: string; addedBy: string; unresolvedAlerts: number }[] }>(await s.call('GET', '/v1/retention-pool', { key: readKey }));
    expect(pool.items).toEqual([expect.objectContaining({ member: 'ann@example.com', addedBy: 'test-admin', unresolvedAlerts: 0 })]);
    expect((await s.call('DELETE', '/v1/retention-pool/ann@example.com')).status).toBe(204);
    await expectProblem(await s.call('DELETE', '/v1/retention-pool/ann@example.com'), 404, 'not_found');
  });
});

describe('the recompute hook', () => {
  const ago = (days: number) => new Date(Date.now() - days * 86400e3).toISOString();

  it('rescoring raises alerts and health.band_changed in its transaction, and clears them when signals recover', async () => {
    await s.call('POST', '/v1/accounts/batch', { body: { items: [{ externalId: 'struggling', name: 'Struggling', seats: 10, retentionOwner: 'rita@example.com' }] } });
    await s.call('POST', '/v1/tickets/batch', {
      body: {
        items: [
          { ticketId: 's-1', account: 'struggling', status: 'open', priority: 'urgent', openedAt: ago(9), updatedAt: ago(1), escalated: true },
          { ticketId: 's-2', account: 'struggling', status: 'open', priority: 'urgent', openedAt: ago(8), updatedAt: ago(1), slaBreached: true },
        ],
      },
    });
    await s.call('POST', '/v1/surveys/batch', { body: { items: [{ responseId: 'n-2', account: 'struggling', kind: 'nps', score: 2, respondedAt: ago(5) }] } });
    // It stopped using the product a month ago.
    const usage = Array.from({ length: 30 }, (_, i) => ({ eventId: `s-u${i}`, account: 'struggling', occurredAt: ago(31 + i), metric: 'report.viewed', userId: 'u1' }));
    await s.call('POST', '/v1/usage/batch', { body: { items: usage } });
    await s.call('POST', '/v1/contracts/batch', {
      body: {
        items: [
          { contractId: 'c-s1', account: 'struggling', startDate: ago(334).slice(0, 10), endDate: ago(-20).slice(0, 10), arr: 10000, seats: 10, status: 'active', paymentStatus: 'overdue' },
        ],
      },
    });
    // Its month-old usage is history arriving: alerts wait until the import has settled; here it is declared over.
    expect((await s.call('POST', '/v1/imports/settle', { body: {} })).status).toBe(200);
    expect((await recomputeDirty(s.db, undefined, raiseAlerts)).bandChanges).toEqual([expect.objectContaining({ band: 'red', previous: null })]);

    const alerts = (await list('?account=struggling')).items;
    expect(alerts.map((a) => a.ruleKey).sort()).toEqual(['detractor_with_escalation', 'entered_red', 'renewal_at_risk']);
    expect(alerts.every((a) => a.assignee === 'rita@example.com')).toBe(true);
    const detractor = alerts.find((a) => a.ruleKey === 'detractor_with_escalation')!;
    expect(detractor.reasons[0]).toMatch(/^NPS answer 2 \(detractor\) on .* while escalated ticket s-1 is open$/);
    expect(detractor.reasons).toContain('latest NPS answer 2 (detractor)');

    const accountId = (await s.db.selectFrom('accounts').select('id').where('external_id', '=', 'struggling').executeTakeFirstOrThrow()).id;
    const [band] = await eventsOf(s.db, accountId, 'health.band_changed');
    expect(band!.payload).toMatchObject({ account: { externalId: 'struggling', name: 'Struggling' }, band: 'red', previousBand: null });
    expect(band!.payload.explanation.find((e: { key: string }) => e.key === 'oldest_urgent').sentence).toBe('an urgent or high ticket open for 9 days');
    expect(band!.payload).toHaveProperty('attribution', null); // nothing before it to compare with

    // The escalation is solved: the next rescoring resolves that alert by itself.
    await s.call('POST', '/v1/tickets/batch', {
      body: { items: [{ ticketId: 's-1', account: 'struggling', status: 'solved', priority: 'urgent', openedAt: ago(9), solvedAt: ago(0), updatedAt: ago(0), escalated: true }] },
    });
    await recomputeDirty(s.db, undefined, raiseAlerts);
    expect(await alertFor('struggling', 'detractor_with_escalation')).toMatchObject({ status: 'resolved', resolution: 'condition_cleared' });
    expect((await eventsOf(s.db, accountId, 'churn_risk.resolved')).map((e) => e.payload.alert.ruleKey)).toEqual(['detractor_with_escalation']);
  });
});
