import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savePreferences } from '../../src/notifications/preferences.js';
import { enqueueEvent, enqueueEvents } from '../../src/webhooks/outbound/repository.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { account, alertOpened, member } from './support.js';

/** Who is notified of what, written in the transaction of the cause. */
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await member(t.db, 'assignee@fan.example');
  await member(t.db, 'owner@fan.example');
  await member(t.db, 'manager@fan.example');
  for (const m of ['assignee@fan.example', 'owner@fan.example', 'manager@fan.example']) await savePreferences(t.db, m, { quietHours: null });
});
afterAll(() => t?.close());

const notifications = async () =>
  (
    await t.db
      .selectFrom('webhook_events as e')
      .innerJoin('webhook_deliveries as d', 'd.event_id', 'e.id')
      .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
      .select(['e.type', 's.url'])
      .where('e.type', 'like', 'notification.%')
      .orderBy('e.created_at')
      .orderBy('e.id')
      .execute()
  ).map((r) => `${r.type} → ${r.url}`);

describe('who hears of what', () => {
  it('a rolled-back cause notifies nobody; a committed one notifies by the defaults', async () => {
    const a = await account(t.db, { externalId: 'fan-1', owner: 'owner@fan.example' });
    const payload = alertOpened({ externalId: 'fan-1', name: 'Fan One', owner: 'owner@fan.example' }, { id: 1, assignee: 'assignee@fan.example', severity: 'high', reasons: ['r'] });
    await expect(
      t.db.transaction().execute(async (trx) => {
        await enqueueEvent(trx, { type: 'churn_risk.opened', accountId: a, payload });
        throw new Error('the alert change failed');
      }),
    ).rejects.toThrow('the alert change failed');
    expect(await notifications()).toEqual([]);

    await enqueueEvent(t.db, { type: 'churn_risk.opened', accountId: a, payload });
    // The assignee by default; the owner has not asked for alerts on their accounts.
    expect(await notifications()).toEqual(['notification.alert_assigned → mailto:assignee@fan.example']);
  });

  it('follows opt-ins, reassignments, escalations, and ignores people who are not team members and events nobody is notified of', async () => {
    await t.db.deleteFrom('webhook_events').execute();
    await savePreferences(t.db, 'owner@fan.example', { events: ['alert_on_my_accounts', 'band_change'] });
    const a = await account(t.db, { externalId: 'fan-2', owner: 'owner@fan.example' });
    await enqueueEvents(t.db, [
      { type: 'churn_risk.opened', accountId: a, payload: alertOpened({ externalId: 'fan-2', name: 'Fan Two', owner: 'owner@fan.example' }, { id: 2, assignee: 'stranger@elsewhere.example', severity: 'low', reasons: [] }) },
      {
        type: 'churn_risk.updated',
        accountId: a,
        payload: { ...alertOpened({ externalId: 'fan-2', name: 'Fan Two' }, { id: 2, assignee: 'Assignee@Fan.example', severity: 'low', reasons: [] }), change: { action: 'reassigned' } },
      },
      { type: 'churn_risk.updated', accountId: a, payload: { ...alertOpened({ externalId: 'fan-2', name: 'Fan Two' }, { id: 2, assignee: 'assignee@fan.example', severity: 'low', reasons: [] }), change: { action: 'acknowledged' } } },
      { type: 'health.band_changed', accountId: a, payload: { account: { externalId: 'fan-2', name: 'Fan Two', owner: 'owner@fan.example' }, score: 40, band: 'red', previousBand: 'yellow' } },
      { type: 'follow_up.overdue', accountId: a, payload: { followUpId: 9, account: { externalId: 'fan-2', name: 'Fan Two' }, title: 'Call', kind: 'call', assignee: 'assignee@fan.example', escalatedTo: 'manager@fan.example', dueAt: new Date().toISOString() } },
      { type: 'follow_up.created', accountId: a, payload: { followUpId: 10, assignee: 'assignee@fan.example' } },
    ]);
    expect((await notifications()).sort()).toEqual([
      'notification.alert_assigned → mailto:assignee@fan.example',
      'notification.alert_on_my_accounts → mailto:owner@fan.example',
      'notification.band_change → mailto:owner@fan.example',
      'notification.follow_up_overdue → mailto:assignee@fan.example',
      'notification.follow_up_overdue → mailto:manager@fan.example',
    ]);
    // An empty event list turns a person's notifications off.
    await savePreferences(t.db, 'assignee@fan.example', { events: [] });
    await t.db.deleteFrom('webhook_events').execute();
    await enqueueEvent(t.db, { type: 'follow_up.due', accountId: a, payload: { followUpId: 11, account: { externalId: 'fan-2', name: 'Fan Two' }, title: 'Call', kind: 'call', assignee: 'assignee@fan.example', dueAt: new Date().toISOString() } });
    expect(await notifications()).toEqual([]);
  });
});
