import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRules } from '../../src/alerts/evaluate.js';
import { DEFAULT_RULE_SET, ruleSetDefinitionSchema } from '../../src/alerts/rules.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { HEALTHY, STRUGGLING, addSnapshot, alertsOf, ago, daysFromNow, eventsOf, historyOf, makeAccount, setScore, useRuleSet } from './fixtures.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  // The rules one by one: no budget in the way (tests/alerts/budget.happy.test.ts has it).
  await useRuleSet(t.db);
});
afterAll(() => t.close());

const open = async (accountId: number, rule: string) =>
  (await alertsOf(t.db, accountId)).filter((a) => a.rule_key === rule && a.status !== 'resolved');
const only = async (accountId: number, rule: string) => {
  const list = await open(accountId, rule);
  expect(list, `unresolved ${rule} alerts`).toHaveLength(1);
  return list[0]!;
};
const lastResolved = async (accountId: number, rule: string) =>
  (await alertsOf(t.db, accountId)).filter((a) => a.rule_key === rule && a.status === 'resolved').at(-1);

describe('each rule type fires and clears', () => {
  it('entered_red: in the red band, with the explanation as reasons; clears when the score leaves red', async () => {
    const id = await makeAccount(t.db);
    await setScore(t.db, id, 31.4, 'red', STRUGGLING);
    const summary = await evaluateRules(t.db, [id]);
    expect(summary).toMatchObject({ ruleSetVersion: 1, opened: 1 });
    const alert = await only(id, 'entered_red');
    expect(alert).toMatchObject({ rule_type: 'entered_red', severity: 'high', status: 'open', rule_set_version: 1 });
    const reasons = alert.reasons as string[];
    expect(reasons[0]).toMatch(/^entered the red band on \d{4}-\d\d-\d\d; score now 31$/);
    // The score explanation's weakest measures follow, worst first.
    expect(reasons.slice(1)).toEqual(['latest NPS answer 2 (detractor)', 'open tickets weigh 8 (urgent 4, high 2, normal 1, low 0.5 each)']);
    expect(alert.metrics).toMatchObject({ score: 31.4, band: 'red' });

    await setScore(t.db, id, 55, 'yellow', HEALTHY);
    expect((await evaluateRules(t.db, [id])).resolved).toBe(1);
    const resolved = (await alertsOf(t.db, id))[0]!;
    expect(resolved).toMatchObject({ status: 'resolved', resolution: 'condition_cleared', resolved_by: 'system', outcome: null });
    const history = await historyOf(t.db, resolved.id);
    expect(history.map((h) => [h.action, h.actor])).toEqual([['opened', 'system'], ['resolved', 'system']]);
    expect(history[1]!.details).toMatchObject({ resolution: 'condition_cleared', reason: 'score left the red band' });
  });

  it('score_drop: N points below the high of the last D days, with what moved it; clears when it recovers', async () => {
    const id = await makeAccount(t.db);
    await addSnapshot(t.db, id, 20, 95, HEALTHY); // before the window: only the latest of these counts
    await addSnapshot(t.db, id, 10, 82, HEALTHY); // in effect when the 7-day window starts
    await addSnapshot(t.db, id, 3, 80, HEALTHY);
    await setScore(t.db, id, 62, 'yellow', STRUGGLING);
    await evaluateRules(t.db, [id]);
    const alert = await only(id, 'score_drop');
    expect(alert.metrics).toMatchObject({ score: 62, peakScore: 82, drop: 20, days: 7 });
    expect((alert.reasons as string[])[0]).toBe('score dropped 20 points in 7 days (82 \u2192 62): Latest NPS answer \u221234, Open tickets (by priority) \u221215');

    await setScore(t.db, id, 75, 'green', HEALTHY);
    await evaluateRules(t.db, [id]);
    expect(await open(id, 'score_drop')).toHaveLength(0);
    expect((await lastResolved(id, 'score_drop'))!.resolution).toBe('condition_cleared');
  });

  it('renewal_at_risk: renewal within N days (account date or active contract) while the score is below T', async () => {
    const byDate = await makeAccount(t.db, { renewalDate: daysFromNow(30) });
    const byContract = await makeAccount(t.db);
    const far = await makeAccount(t.db, { renewalDate: daysFromNow(200) });
    await t.db
      .insertInto('contracts')
      .values([
        { account_id: byContract, contract_id: 'old', start_date: daysFromNow(-400), end_date: daysFromNow(-35), arr: 10, status: 'renewed' },
        { account_id: byContract, contract_id: 'cur', start_date: daysFromNow(-34), end_date: daysFromNow(45), arr: 10, status: 'active' },
      ])
      .execute();
    for (const id of [byDate, byContract, far]) await setScore(t.db, id, 45, 'yellow', STRUGGLING);
    await evaluateRules(t.db, [byDate, byContract, far]);
    expect((await only(byDate, 'renewal_at_risk')).metrics).toMatchObject({ renewalDate: daysFromNow(30), daysToRenewal: 30, score: 45 });
    const viaContract = await only(byContract, 'renewal_at_risk');
    expect(viaContract.severity).toBe('critical');
    expect((viaContract.reasons as string[])[0]).toBe(`renewal in 45 days (${daysFromNow(45)}) while the score is 45, below 50`);
    expect(await open(far, 'renewal_at_risk')).toHaveLength(0);

    await setScore(t.db, byDate, 65, 'yellow', HEALTHY);
    await evaluateRules(t.db, [byDate]);
    expect(await open(byDate, 'renewal_at_risk')).toHaveLength(0);
    expect(await open(byContract, 'renewal_at_risk')).toHaveLength(1); // out of scope: untouched
  });

  it('detractor_with_escalation: an NPS answer ≤ 6 within D days while an escalated ticket is open', async () => {
    const id = await makeAccount(t.db);
    const ticket = (ticketId: string, status: string, escalated: boolean) => ({
      account_id: id, ticket_id: ticketId, status, priority: 'high', opened_at: ago(4), escalated, source_updated_at: ago(1),
    });
    await t.db.insertInto('tickets').values([ticket('T-1', 'open', true), ticket('T-2', 'open', false)]).execute();
    await t.db
      .insertInto('survey_responses')
      .values([
        { account_id: id, response_id: 'old', kind: 'nps', score: 1, responded_at: ago(60) },
        { account_id: id, response_id: 'r-1', kind: 'nps', score: 4, respondent: 'cfo@acme.test', responded_at: ago(5) },
      ])
      .execute();
    await evaluateRules(t.db, [id]);
    const alert = await only(id, 'detractor_with_escalation');
    expect(alert.metrics).toMatchObject({ npsScore: 4, responseId: 'r-1', escalatedTickets: ['T-1'] });
    expect((alert.reasons as string[])[0]).toBe(`NPS answer 4 (detractor) from cfo@acme.test on ${ago(5).toISOString().slice(0, 10)} while escalated ticket T-1 is open`);

    await t.db.updateTable('tickets').set({ status: 'solved' }).where('account_id', '=', id).where('ticket_id', '=', 'T-1').execute();
    await evaluateRules(t.db, [id]);
    expect(await open(id, 'detractor_with_escalation')).toHaveLength(0);
  });

  it('usage_drop: last 7 days vs the 7 before, only above the minimum prior volume', async () => {
    const id = await makeAccount(t.db);
    const small = await makeAccount(t.db);
    const usage = (account: number, daysAgo: number, events: number) => ({
      account_id: account, day: daysFromNow(-daysAgo), metric: 'login', events, quantity: events, active_users: 1,
    });
    const rows = [];
    for (let d = 1; d <= 14; d++) {
      rows.push(usage(id, d, d <= 7 ? 4 : 20)); // 28 vs 140 events: down 80 %
      rows.push(usage(small, d, d <= 7 ? 0 : 5)); // 0 vs 35: under the 50-event minimum
    }
    rows.push(usage(id, 0, 500)); // today is partial and not counted
    // The prior week of `id` is still in deltas no compaction has folded in (sql/0035): counted all the same.
    const folded = rows.filter((r) => !(r.account_id === id && r.day < daysFromNow(-7)));
    const deltas = rows.filter((r) => !folded.includes(r));
    await t.db.insertInto('usage_daily').values(folded).execute();
    for (const r of deltas) {
      await sql`insert into usage_daily_deltas (account_id, day, metric, events, quantity, user_ids)
                values (${r.account_id}, ${r.day}, ${r.metric}, ${r.events}, ${r.quantity}, '{}')`.execute(t.db);
    }
    await evaluateRules(t.db, [id, small]);
    const alert = await only(id, 'usage_drop');
    expect(alert.metrics).toEqual({ eventsLast7Days: 28, eventsPrior7Days: 140, dropPercent: 80 });
    expect((alert.reasons as string[])[0]).toBe('usage down 80% week over week (140 \u2192 28 events)');
    expect(alert.severity).toBe('medium');
    expect(await open(small, 'usage_drop')).toHaveLength(0);

    await t.db.updateTable('usage_daily').set({ events: 20 }).where('account_id', '=', id).execute();
    await evaluateRules(t.db, [id]);
    expect(await open(id, 'usage_drop')).toHaveLength(0);
  });

  it('payment_overdue_near_renewal: an overdue contract within N days of renewal', async () => {
    const id = await makeAccount(t.db);
    const later = await makeAccount(t.db);
    await t.db
      .insertInto('contracts')
      .values([
        { account_id: id, contract_id: 'C-1', start_date: daysFromNow(-340), end_date: daysFromNow(25), arr: 10, status: 'active', payment_status: 'overdue' },
        { account_id: later, contract_id: 'C-9', start_date: daysFromNow(-100), end_date: daysFromNow(265), arr: 10, status: 'active', payment_status: 'overdue' },
      ])
      .execute();
    await evaluateRules(t.db, [id, later]);
    const alert = await only(id, 'payment_overdue_near_renewal');
    expect(alert.metrics).toEqual({ overdueContracts: ['C-1'], renewalDate: daysFromNow(25), daysToRenewal: 25 });
    expect((alert.reasons as string[])[0]).toBe(`payment overdue on contract C-1 with renewal in 25 days (${daysFromNow(25)})`);
    expect(await open(later, 'payment_overdue_near_renewal')).toHaveLength(0);

    await t.db.updateTable('contracts').set({ payment_status: 'current' }).where('account_id', '=', id).execute();
    await evaluateRules(t.db, [id]);
    expect(await open(id, 'payment_overdue_near_renewal')).toHaveLength(0);
    expect((await lastResolved(id, 'payment_overdue_near_renewal'))!.resolution).toBe('condition_cleared');
  });
});

describe('re-evaluation', () => {
  it('updates the numbers silently; a material change records and sends churn_risk.updated', async () => {
    const id = await makeAccount(t.db);
    await setScore(t.db, id, 35, 'red', STRUGGLING);
    await evaluateRules(t.db, [id]);
    const alert = await only(id, 'entered_red');

    await setScore(t.db, id, 33, 'red', STRUGGLING); // same 10-point bucket, same reasons
    expect((await evaluateRules(t.db, [id])).updated).toBe(0);
    expect((await only(id, 'entered_red')).metrics).toMatchObject({ score: 33 });
    expect((await historyOf(t.db, alert.id)).map((h) => h.action)).toEqual(['opened']);

    await setScore(t.db, id, 22, 'red', { ...STRUGGLING, payment: [1, 0] }); // lower bucket, a new weak measure
    expect((await evaluateRules(t.db, [id])).updated).toBe(1);
    const history = await historyOf(t.db, alert.id);
    expect(history.map((h) => h.action)).toEqual(['opened', 'updated']);
    expect((history[1]!.details as { reasons: string[] }).reasons).toContain('payment is overdue');
    const events = await eventsOf(t.db, id);
    expect(events.map((e) => e.type)).toEqual(['churn_risk.opened', 'churn_risk.updated']);
  });

  it('a rule no longer enabled resolves its alerts as rule_removed; severity changes are material', async () => {
    const id = await makeAccount(t.db);
    await setScore(t.db, id, 30, 'red', STRUGGLING);
    await evaluateRules(t.db, [id]);
    const alert = await only(id, 'entered_red');

    await useRuleSet(t.db, { rules: DEFAULT_RULE_SET.rules.map((r) => (r.key === 'entered_red' ? { ...r, severity: 'critical' as const } : r)) });
    await evaluateRules(t.db, [id]);
    const updated = await only(id, 'entered_red');
    expect(updated).toMatchObject({ id: alert.id, severity: 'critical', rule_set_version: 2 });
    expect((await historyOf(t.db, alert.id)).at(-1)!.details).toMatchObject({ severity: { from: 'high', to: 'critical' } });

    await useRuleSet(t.db, { rules: DEFAULT_RULE_SET.rules.map((r) => (r.key === 'entered_red' ? { ...r, enabled: false } : r)) });
    await evaluateRules(t.db, [id]);
    expect((await alertsOf(t.db, id))[0]).toMatchObject({ status: 'resolved', resolution: 'rule_removed' });
    await useRuleSet(t.db); // back to the defaults for the other tests
  });

  it('an archived account’s alerts resolve', async () => {
    const id = await makeAccount(t.db);
    await setScore(t.db, id, 30, 'red', STRUGGLING);
    await evaluateRules(t.db, [id]);
    await t.db.updateTable('accounts').set({ archived_at: new Date() }).where('id', '=', id).execute();
    await evaluateRules(t.db, [id]);
    const [alert] = await alertsOf(t.db, id);
    expect(alert!.status).toBe('resolved');
    expect((await historyOf(t.db, alert!.id)).at(-1)!.details).toMatchObject({ reason: 'the account was archived' });
  });

  it('evaluates every account with a null scope, set-based', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, () => makeAccount(t.db)));
    for (const id of ids) await setScore(t.db, id, 20, 'red', STRUGGLING);
    const summary = await evaluateRules(t.db, null);
    expect(summary.opened).toBeGreaterThanOrEqual(30);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from alerts where account_id = any(${ids}::int8[]) and status <> 'resolved'`.execute(t.db);
    expect(rows[0]!.n).toBe(30);
    expect((await evaluateRules(t.db, null)).opened).toBe(0);
  });

  it('describes and applies hits a slice of accounts at a time with the same outcome as all at once', async () => {
    const ids = await Promise.all(Array.from({ length: 7 }, () => makeAccount(t.db)));
    for (const id of ids) await setScore(t.db, id, 20, 'red', STRUGGLING);
    // Slices of 3 accounts: every account is described in exactly one of them.
    const summary = await evaluateRules(t.db, ids, undefined, { describeSlice: 3 });
    expect(summary.opened).toBeGreaterThanOrEqual(7);
    const { rows } = await sql<{ account_id: number; n: number }>`
      select account_id, count(*)::int as n from alerts where account_id = any(${ids}::int8[]) and status <> 'resolved' group by 1`.execute(t.db);
    expect(rows.map((r) => r.account_id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    const events = await sql<{ n: number }>`
      select count(*)::int as n from alert_events e join alerts a on a.id = e.alert_id
       where a.account_id = any(${ids}::int8[]) and e.action = 'opened'`.execute(t.db);
    expect(events.rows[0]!.n).toBe(summary.opened);
    // A second pass in other slices changes nothing.
    expect(await evaluateRules(t.db, ids, undefined, { describeSlice: 2 })).toMatchObject({ opened: 0, resolved: 0, updated: 0 });
  });
});

describe('rule-set definitions', () => {
  it('validates types, params and unique keys', () => {
    expect(ruleSetDefinitionSchema.safeParse(DEFAULT_RULE_SET).success).toBe(true);
    const bad = ruleSetDefinitionSchema.safeParse({
      name: 'x',
      rules: [
        { key: 'a', type: 'score_drop', severity: 'high', params: { points: 0, days: 7 } },
        { key: 'b', type: 'usage_drop', severity: 'urgent', params: { dropPercent: 50, minPriorEvents: 10 } },
        { key: 'c', type: 'vibes', severity: 'low', params: {} },
        { key: 'd', type: 'entered_red', severity: 'low', params: {} },
        { key: 'd', type: 'entered_red', severity: 'low', params: {} },
      ],
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['rules.0.params.points', 'rules.1.severity', 'rules.2.type']));
  });
});
