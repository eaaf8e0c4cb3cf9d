import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignAlert } from '../../src/alerts/actions.js';
import { evaluateRules, sweepAlerts } from '../../src/alerts/evaluate.js';
import { jsonb } from '../../src/db/params.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { STRUGGLING, alertsOf, eventsOf, historyOf, makeAccount, setScore } from './fixtures.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

/** A red account: the entered_red rule fires for it (and nothing else). */
async function redAccount(retentionOwner: string | null = null) {
  const id = await makeAccount(t.db, { retentionOwner });
  await setScore(t.db, id, 25, 'red', STRUGGLING);
  return id;
}
let waitingForPool = 0;
const alertOf = async (accountId: number) => (await alertsOf(t.db, accountId)).at(-1)!;

describe('assignment', () => {
  it('without an owner and with an empty pool, an alert stays unassigned', async () => {
    const id = await redAccount();
    await evaluateRules(t.db, [id]);
    expect(await alertOf(id)).toMatchObject({ assignee: null, assigned_via: null });
    waitingForPool = id;
  });

  it("goes to the account's retention owner", async () => {
    const id = await redAccount('rita@example.com');
    await evaluateRules(t.db, [id]);
    expect(await alertOf(id)).toMatchObject({ assignee: 'rita@example.com', assigned_via: 'retention_owner' });
    const [history] = await historyOf(t.db, (await alertOf(id)).id);
    expect(history!.details).toMatchObject({ assignee: 'rita@example.com', assignedVia: 'retention_owner' });
  });

  it('without an owner, to the least-loaded pool member; a batch spreads greedily', async () => {
    await t.db.insertInto('retention_pool').values([{ member: 'ann' }, { member: 'bob' }, { member: 'cy' }]).execute();
    // ann already works two alerts.
    for (const key of ['manual_a', 'manual_b']) {
      await t.db
        .insertInto('alerts')
        .values({
          account_id: await makeAccount(t.db), rule_key: key, rule_type: 'entered_red', rule_set_version: 1, severity: 'low',
          reasons: jsonb([]), metrics: jsonb({}), signature: jsonb({}), assignee: 'ann', assigned_via: 'manual',
        })
        .execute();
    }
    const ids = [await redAccount(), await redAccount(), await redAccount()];
    expect((await evaluateRules(t.db, ids)).opened).toBe(3);
    const assignees = await Promise.all(ids.map(async (id) => (await alertOf(id)).assignee));
    // Loads before: ann 2, bob 0, cy 0 → bob, cy, then bob (tie at 1, by name).
    expect(assignees).toEqual(['bob', 'cy', 'bob']);
    expect((await alertOf(ids[0]!)).assigned_via).toBe('pool');

    const next = await redAccount();
    await evaluateRules(t.db, [next]);
    expect((await alertOf(next)).assignee).toBe('cy'); // ann 2, bob 2, cy 1
  });

  it('follows the retention owner: a manual assignment stays until the owner changes; removal goes back to the pool', async () => {
    const id = await redAccount('rita@example.com');
    await evaluateRules(t.db, [id]);
    const alertId = (await alertOf(id)).id;

    await assignAlert(t.db, alertId, 'mo@example.com', 'lead-key');
    await sweepAlerts(t.db);
    expect(await alertOf(id)).toMatchObject({ assignee: 'mo@example.com', assigned_via: 'manual' });
    // The alert opened while the pool was empty has been taken from the pool by the sweep.
    const waiting = await alertOf(waitingForPool);
    expect(waiting.assigned_via).toBe('pool');
    expect((await historyOf(t.db, waiting.id)).at(-1)).toMatchObject({ action: 'assigned', actor: 'system' });

    await t.db.updateTable('accounts').set({ retention_owner: 'sol@example.com' }).where('id', '=', id).execute();
    const swept = await sweepAlerts(t.db);
    expect(swept.reassigned).toBe(1);
    expect(await alertOf(id)).toMatchObject({ assignee: 'sol@example.com', assigned_via: 'retention_owner' });
    const history = await historyOf(t.db, alertId);
    expect(history.map((h) => [h.action, h.actor])).toEqual([
      ['opened', 'system'],
      ['assigned', 'lead-key'],
      ['reassigned', 'system'],
    ]);
    expect(history[2]!.details).toMatchObject({ from: 'mo@example.com', to: 'sol@example.com' });
    const updates = await eventsOf(t.db, id, 'churn_risk.updated');
    expect(updates.map((e) => e.payload.change.action)).toEqual(['assigned', 'reassigned']);
    expect(updates[1]!.payload.alert.assignee).toBe('sol@example.com');

    await t.db.updateTable('accounts').set({ retention_owner: null }).where('id', '=', id).execute();
    await sweepAlerts(t.db);
    const pooled = await alertOf(id);
    expect(pooled.assigned_via).toBe('pool');
    expect(['ann', 'bob', 'cy']).toContain(pooled.assignee);
    expect((await historyOf(t.db, alertId)).at(-1)!.details).toMatchObject({ from: 'sol@example.com', reason: "the account's retention owner was removed" });

    // Nothing changed since: the next sweep leaves it alone.
    expect((await sweepAlerts(t.db)).reassigned).toBe(0);
  });
});
