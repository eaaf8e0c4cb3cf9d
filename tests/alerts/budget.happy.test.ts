import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedLoss, budgetLimit } from '../../src/alerts/budget.js';
import { evaluateRules } from '../../src/alerts/evaluate.js';
import { planFollowUps } from '../../src/follow-ups/planner.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STRUGGLING, makeAccount, setScore, useRuleSet } from './fixtures.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.close());

async function addContract(accountId: number, arr: number) {
  await sql`
    insert into contracts (account_id, contract_id, start_date, end_date, arr, status)
    values (${accountId}, ${`c-${accountId}`}, current_date - 200, current_date + 400, ${arr}, 'active')`.execute(s.db);
}

const alertedAccounts = async (ids: number[]) =>
  (
    await sql<{ account_id: number }>`
      select distinct account_id from alerts where status <> 'resolved' and account_id = any(${ids}::int8[]) order by 1`.execute(s.db)
  ).rows.map((r) => Number(r.account_id));

describe('the alert budget', () => {
  it('expected loss and the limit', () => {
    expect(expectedLoss(20, 50_000, null)).toBe(40_000);
    expect(expectedLoss(20, 50_000, 0.1)).toBe(5_000);
    expect(expectedLoss(40, null, null)).toBeCloseTo(0.6);
    expect(budgetLimit({ maxShareOfAccounts: 0.2, perSpecialist: 30, minAlerts: 0 }, 1000, 2)).toBe(60);
    expect(budgetLimit({ maxShareOfAccounts: 0.2, perSpecialist: 30, minAlerts: 0 }, 1000, 0)).toBe(200);
    expect(budgetLimit({ maxShareOfAccounts: 0.01, perSpecialist: null, minAlerts: 25 }, 1000, 3)).toBe(25);
  });

  it('opens the highest expected loss first; the rest is on the watch list, and opens as room frees up', async () => {
    await useRuleSet(s.db, { budget: { maxShareOfAccounts: 0.1, perSpecialist: null, minAlerts: 0 } });
    // 40 red accounts (one alert rule each would hold), ARR and score varied so that loss ≠ either alone.
    const ids: number[] = [];
    const loss = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const id = await makeAccount(s.db, { externalId: `budget-${i}` });
      const score = 10 + ((i * 7) % 30);
      const arr = 1_000 * (1 + ((i * 13) % 40));
      await setScore(s.db, id, score, 'red', STRUGGLING);
      await addContract(id, arr);
      ids.push(id);
      loss.set(id, expectedLoss(score, arr, null));
    }
    const byLoss = [...ids].sort((a, b) => loss.get(b)! - loss.get(a)! || a - b);
    const summary = await evaluateRules(s.db, null);
    const { n: accounts } = (await sql<{ n: number }>`select count(*)::int as n from accounts where archived_at is null`.execute(s.db)).rows[0]!;
    const room = Math.floor(0.1 * accounts);
    expect(await alertedAccounts(ids)).toEqual(byLoss.slice(0, room).sort((a, b) => a - b));
    expect(summary.watched).toBeGreaterThanOrEqual(40 - room);

    // The watch list, by API: the others, highest expected loss first.
    const res = await s.call('GET', '/v1/alerts/watch-list?limit=1000');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { budget: { limit: number; alertedAccounts: number }; total: number; items: { account: { externalId: string }; expectedLoss: number }[] };
    expect(body.budget).toMatchObject({ limit: room, alertedAccounts: room });
    const watched = [...new Set(body.items.map((i) => i.account.externalId))];
    const names = new Map(ids.map((id, i) => [id, `budget-${i}`]));
    expect(watched).toEqual(byLoss.slice(room).map((id) => names.get(id)));
    expect(body.items.map((i) => i.expectedLoss)).toEqual([...body.items.map((i) => i.expectedLoss)].sort((a, b) => b - a));

    // A specialist closes one: the next in line (highest expected loss on the watch list) opens at the next sweep.
    const first = (await s.db.selectFrom('alerts').select('id').where('account_id', '=', byLoss[0]!).where('status', '<>', 'resolved').execute()).map((r) => r.id);
    for (const id of first) expect((await s.call('POST', `/v1/alerts/${id}/resolve`, { body: { outcome: 'saved' } })).status).toBe(200);
    await evaluateRules(s.db, null);
    expect(await alertedAccounts(ids)).toEqual(byLoss.slice(1, room + 1).sort((a, b) => a - b));
  });

  it('a per-specialist capacity limits it further', async () => {
    await useRuleSet(s.db, { budget: { maxShareOfAccounts: 1, perSpecialist: 1, minAlerts: 0 } });
    // A clean slate: nothing open, no cap in the way.
    await sql`update alerts set status = 'resolved', resolved_at = now(), resolution = 'rule_removed', resolved_by = 'test' where status <> 'resolved'`.execute(s.db);
    await sql`delete from alert_openings`.execute(s.db);
    expect((await s.call('PUT', '/v1/retention-pool/sam@example.com')).status).toBeLessThan(300);
    expect((await s.call('PUT', '/v1/retention-pool/kim@example.com')).status).toBeLessThan(300);
    await evaluateRules(s.db, null);
    // Two specialists with room for one account each: two accounts, the two of highest expected loss.
    const { rows } = await sql<{ external_id: string }>`
      select distinct a.external_id from alerts al join accounts a on a.id = al.account_id where al.status <> 'resolved' order by 1`.execute(s.db);
    expect(rows.map((r) => r.external_id)).toHaveLength(2);
  });
});

describe('follow-ups from several alerts on one account', () => {
  it('collapse into one retention call', async () => {
    await useRuleSet(s.db, { budget: null });
    const id = await makeAccount(s.db, { externalId: 'many-alerts', retentionOwner: 'rita@example.com', renewalDate: new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10) });
    await setScore(s.db, id, 15, 'red', STRUGGLING);
    await addContract(id, 20_000);
    await evaluateRules(s.db, [id]);
    const open = await s.db.selectFrom('alerts').select('rule_key').where('account_id', '=', id).where('status', '<>', 'resolved').execute();
    expect(open.length).toBeGreaterThanOrEqual(2);
    await planFollowUps(s.db);
    await planFollowUps(s.db);
    const calls = await s.db.selectFrom('follow_ups').select(['cause_type', 'reason']).where('account_id', '=', id).where('cause_type', '=', 'alert').execute();
    expect(calls).toHaveLength(1);
    for (const r of open) expect(calls[0]!.reason).toContain(r.rule_key);
  });
});
