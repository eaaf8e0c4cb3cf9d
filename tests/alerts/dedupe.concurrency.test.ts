import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAlert } from '../../src/alerts/actions.js';
import { evaluateRules, sweepAlerts } from '../../src/alerts/evaluate.js';
import { sqlState } from '../../src/db/errors.js';
import { jsonb } from '../../src/db/params.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';
import { waitFor } from '../support/process.js';
import { STRUGGLING, HEALTHY, alertsOf, eventsOf, historyOf, makeAccount, setScore, useRuleSet } from './fixtures.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const unresolved = async (accountId: number) => (await alertsOf(t.db, accountId)).filter((a) => a.status !== 'resolved');

/**
 * Evaluation in a transaction held open after it evaluated, and a second one
 * started meanwhile: on the server the second must wait on a row lock (the
 * alert_openings row or the unique index), and finds the first's alert.
 */
async function racePair(accountId: number) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let evaluated!: () => void;
  const firstEvaluated = new Promise<void>((r) => (evaluated = r));
  const first = t.db.transaction().execute(async (trx) => {
    const summary = await evaluateRules(trx, [accountId]);
    evaluated();
    await gate;
    return summary;
  });
  await firstEvaluated;
  let finished = false;
  const second = evaluateRules(t.db, [accountId]).finally(() => (finished = true));
  if (onServer()) {
    // The second evaluation reaches the row the first holds and waits on its lock.
    const waitingOnLock = async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(t.db);
      return rows[0]!.n >= 1;
    };
    await waitFor(waitingOnLock, 30_000, 'the second evaluation waiting on a lock');
  } else {
    // The embedded database has one connection, held by the first transaction: the second waits for it.
    await new Promise((r) => setImmediate(r));
  }
  expect(finished).toBe(false);
  release();
  return Promise.all([first, second]);
}

describe('one unresolved alert per account and rule', () => {
  it('the partial unique index refuses a second unresolved alert, whatever the code does', async () => {
    const id = await makeAccount(t.db);
    const row = {
      account_id: id, rule_key: 'entered_red', rule_type: 'entered_red', rule_set_version: 1, severity: 'high' as const,
      reasons: jsonb(['x']), metrics: jsonb({}), signature: jsonb({}),
    };
    await t.db.insertInto('alerts').values(row).execute();
    const err = await t.db.insertInto('alerts').values(row).execute().catch((e: unknown) => e);
    expect(sqlState(err)).toBe('23505');
    // Once resolved, another may open.
    await t.db.updateTable('alerts').set({ status: 'resolved', resolved_at: new Date(), resolution: 'manual' }).where('account_id', '=', id).execute();
    await t.db.insertInto('alerts').values(row).execute();
    expect(await unresolved(id)).toHaveLength(1);
  });

  it('two concurrent evaluations with the cap off: the index keeps it to one alert', async () => {
    await useRuleSet(t.db, { cooldownHours: 0 });
    const id = await makeAccount(t.db);
    await setScore(t.db, id, 25, 'red', STRUGGLING);
    const [a, b] = await racePair(id);
    expect(a.opened + b.opened).toBe(1);
    expect((await unresolved(id)).filter((x) => x.rule_key === 'entered_red')).toHaveLength(1);
    expect((await eventsOf(t.db, id, 'churn_risk.opened')).length).toBe(1);
  });

  it('two concurrent evaluations with the cap on: the second waits on the cap row and opens nothing', async () => {
    await useRuleSet(t.db, { cooldownHours: 24 });
    const id = await makeAccount(t.db);
    await setScore(t.db, id, 25, 'red', STRUGGLING);
    const [a, b] = await racePair(id);
    expect(a.opened).toBe(1);
    expect(b.opened).toBe(0);
    expect(await unresolved(id)).toHaveLength(1);
  });

  it('many concurrent sweeps over many accounts: exactly one alert each, no deadlock', async () => {
    await useRuleSet(t.db, { cooldownHours: 0 });
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) ids.push(await makeAccount(t.db));
    for (const id of ids) await setScore(t.db, id, 20, 'red', STRUGGLING);
    const results = await Promise.all(Array.from({ length: 4 }, () => sweepAlerts(t.db)));
    expect(results.every((r) => (r.ruleSetVersion ?? 0) > 0)).toBe(true);
    const { rows } = await sql<{ account_id: number; n: number }>`
      select account_id, count(*)::int as n from alerts
       where account_id = any(${ids}::int8[]) and rule_key = 'entered_red' and status <> 'resolved'
       group by account_id`.execute(t.db);
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    await useRuleSet(t.db);
  });
});

describe('frequency cap', () => {
  it('a flapping account opens the same rule at most once per window', async () => {
    await useRuleSet(t.db, { cooldownHours: 24 });
    const id = await makeAccount(t.db);
    const flip = async (band: 'red' | 'yellow') => {
      await setScore(t.db, id, band === 'red' ? 30 : 55, band, band === 'red' ? STRUGGLING : HEALTHY);
      return evaluateRules(t.db, [id]);
    };
    expect((await flip('red')).opened).toBe(1);
    expect((await flip('yellow')).resolved).toBe(1);
    const again = await flip('red');
    expect(again).toMatchObject({ opened: 0, capped: 1 });
    expect(await unresolved(id)).toHaveLength(0);

    // The window passes: the condition still holds, so the next evaluation opens it.
    await sql`update alert_openings set last_opened_at = now() - interval '25 hours' where account_id = ${id}`.execute(t.db);
    expect((await evaluateRules(t.db, [id])).opened).toBe(1);
    expect(await alertsOf(t.db, id)).toHaveLength(2);
  });

  it("a specialist's resolution also starts the window (no re-open right after 'false alarm')", async () => {
    const id = await makeAccount(t.db);
    await setScore(t.db, id, 30, 'red', STRUGGLING);
    await evaluateRules(t.db, [id]);
    // Opened long ago, resolved by hand just now.
    await sql`update alert_openings set last_opened_at = now() - interval '3 days' where account_id = ${id}`.execute(t.db);
    const [alert] = await unresolved(id);
    await resolveAlert(t.db, alert!.id, 'false_alarm', 'seasonal dip', 'tester');
    expect(await evaluateRules(t.db, [id])).toMatchObject({ opened: 0, capped: 1 });
    await sql`update alert_openings set last_dismissed_at = now() - interval '25 hours' where account_id = ${id}`.execute(t.db);
    expect((await evaluateRules(t.db, [id])).opened).toBe(1);
  });

  it('a rule may set its own cooldown', async () => {
    await useRuleSet(t.db, {
      cooldownHours: 24,
      rules: [{ key: 'entered_red', type: 'entered_red', severity: 'high', enabled: true, params: {}, cooldownHours: 0 }],
    });
    const id = await makeAccount(t.db);
    for (const band of ['red', 'yellow', 'red'] as const) {
      await setScore(t.db, id, band === 'red' ? 30 : 55, band, STRUGGLING);
      await evaluateRules(t.db, [id]);
    }
    expect((await alertsOf(t.db, id)).map((a) => a.status)).toEqual(['resolved', 'open']);
    await useRuleSet(t.db);
  });
});

describe('events and history commit with the change', () => {
  it('nothing is recorded or sent when the evaluating transaction rolls back', async () => {
    const id = await makeAccount(t.db, { externalId: 'rollback-co' });
    await setScore(t.db, id, 30, 'red', STRUGGLING);
    const failed = t.db.transaction().execute(async (trx) => {
      expect((await evaluateRules(trx, [id])).opened).toBe(1);
      throw new Error('the surrounding recompute failed');
    });
    await expect(failed).rejects.toThrow('the surrounding recompute failed');
    expect(await alertsOf(t.db, id)).toHaveLength(0);
    expect(await eventsOf(t.db, id)).toHaveLength(0);
    expect((await sql<{ n: number }>`select count(*)::int as n from alert_openings where account_id = ${id}`.execute(t.db)).rows[0]!.n).toBe(0);

    await evaluateRules(t.db, [id]);
    const [alert] = await alertsOf(t.db, id);
    expect((await historyOf(t.db, alert!.id)).map((h) => h.action)).toEqual(['opened']);
    const [event] = await eventsOf(t.db, id);
    expect(event!.type).toBe('churn_risk.opened');
    expect(event!.payload).toMatchObject({
      account: { externalId: 'rollback-co', name: 'rollback-co' },
      score: 30,
      band: 'red',
      alert: { id: alert!.id, ruleKey: 'entered_red', severity: 'high', status: 'open' },
      change: { action: 'opened', actor: 'system' },
    });
    expect(event!.payload.explanation).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'nps', sentence: 'latest NPS answer 2 (detractor)' })]),
    );
    expect(event!.payload).toHaveProperty('attribution');
    expect(event!.payload.alert.reasons[1]).toBe('latest NPS answer 2 (detractor)');
  });
});
