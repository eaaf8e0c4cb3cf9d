import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import {
  type AttemptResult,
  claimDueDeliveries,
  createSubscription,
  enqueueEvent,
  recordAttemptResult,
  recordSuccesses,
  retryDelayMs,
  type RetryPolicy,
} from '../../src/webhooks/outbound/repository.js';
import { DEFAULT_RETRY_SCHEDULE_MS, drainOutbox } from '../../src/outbox/worker.js';
import { SuccessRecorder } from '../../src/outbox/recorder.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';
import { Receiver } from './outbound-receiver.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());
afterEach(async () => {
  await t.db.deleteFrom('webhook_subscriptions').execute();
});

const policy: RetryPolicy = { retryScheduleMs: [1_000, 2_000], disableAfterMs: 5 * 86_400_000, jitter: 0 };
const ok: AttemptResult = { ok: true, statusCode: 200, durationMs: 12, error: null };
const failed: AttemptResult = { ok: false, statusCode: 500, durationMs: 12, error: 'HTTP 500' };

async function subscription(active = true) {
  return (await createSubscription(t.db, { url: 'http://127.0.0.1:9/x', eventTypes: ['churn_risk.opened'], active })).subscription;
}

const delivery = (id: number) => t.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const attempts = (id: number) =>
  t.db.selectFrom('webhook_delivery_attempts').selectAll().where('delivery_id', '=', id).orderBy('attempt').execute();
/** Lets every lease run out now. */
const expireLeases = () =>
  sql`update webhook_deliveries set leased_until = now() - interval '1 second', next_attempt_at = now() - interval '1 second'
       where lease_token is not null`.execute(t.db);

describe('leases', () => {
  it('a claim hides the delivery from other workers until its lease ends', async () => {
    await subscription();
    const { deliveryIds } = await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: {} });
    const [claim] = await claimDueDeliveries(t.db, { limit: 10, leaseMs: 30_000 });
    expect(claim).toMatchObject({ deliveryId: deliveryIds[0], attempt: 1 });
    expect(claim!.leaseToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(claim!.leasedUntil.getTime() - Date.now()).toBeGreaterThan(25_000);
    expect(claim!.leasedUntil.getTime() - Date.now()).toBeLessThanOrEqual(61_000);
    expect(await claimDueDeliveries(t.db, { limit: 10, leaseMs: 30_000 })).toEqual([]);
    await expireLeases();
    const [again] = await claimDueDeliveries(t.db, { limit: 10, leaseMs: 30_000 });
    expect(again).toMatchObject({ deliveryId: deliveryIds[0], attempt: 2 });
    expect(again!.leaseToken).not.toBe(claim!.leaseToken);
  });

  it('leases never exceed 60 s', async () => {
    await subscription();
    await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: {} });
    const [claim] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 10 * 60_000 });
    expect(claim!.leasedUntil.getTime() - Date.now()).toBeLessThanOrEqual(61_000);
  });

  it('a worker whose lease expired cannot mark the newer attempt done, failed or pending', async () => {
    await subscription();
    const { deliveryIds } = await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: {} });
    const id = deliveryIds[0]!;
    const [stale] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 30_000 });
    await expireLeases();
    const [fresh] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 30_000 });
    expect(fresh!.attempt).toBe(2);
    // The first attempt's log row was closed as abandoned when the lease was taken over.
    expect((await attempts(id)).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'abandoned'],
      [2, null],
    ]);

    for (const result of [ok, failed, { ...failed, statusCode: 410 }]) {
      expect(await recordAttemptResult(t.db, stale!, result, policy)).toEqual({ recorded: false });
      expect(await delivery(id)).toMatchObject({ status: 'pending', attempt: 2, lease_token: fresh!.leaseToken, delivered_at: null });
    }
    // The stale worker's own attempt row still tells what happened to it (its first report; a worker reports once).
    expect((await attempts(id))[0]).toMatchObject({ attempt: 1, status_code: 200, outcome: 'succeeded' });
    const sub = await t.db.selectFrom('webhook_subscriptions').select(['active', 'failing_since']).executeTakeFirstOrThrow();
    expect(sub).toEqual({ active: true, failing_since: null });

    expect(await recordAttemptResult(t.db, fresh!, ok, policy)).toMatchObject({ recorded: true, status: 'succeeded' });
    expect(await delivery(id)).toMatchObject({ status: 'succeeded', lease_token: null, last_status_code: 200 });
    // And once done, neither lease can change it.
    expect(await recordAttemptResult(t.db, stale!, failed, policy)).toEqual({ recorded: false });
    expect(await recordAttemptResult(t.db, fresh!, failed, policy)).toEqual({ recorded: false });
    expect((await delivery(id)).status).toBe('succeeded');
  });

  it('successes recorded in a batch: only those whose lease is still held, and the failure streak ends', async () => {
    const sub = await subscription();
    await sql`update webhook_subscriptions set failing_since = now() - interval '1 hour' where id = ${sub.id}`.execute(t.db);
    for (let i = 0; i < 3; i++) await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: { i } });
    const claims = await claimDueDeliveries(t.db, { limit: 3, leaseMs: 30_000 });
    expect(claims).toHaveLength(3);
    // The third loses its lease to another worker before reporting.
    await sql`update webhook_deliveries set leased_until = now() - interval '1 second', next_attempt_at = now() - interval '1 second'
               where id = ${claims[2]!.deliveryId}`.execute(t.db);
    const [takeover] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 30_000 });
    expect(takeover).toMatchObject({ deliveryId: claims[2]!.deliveryId, attempt: 2 });

    const recorded = await recordSuccesses(t.db, claims.map((lease) => ({ lease, result: ok })));
    expect([...recorded].sort()).toEqual([claims[0]!.deliveryId, claims[1]!.deliveryId].sort());
    for (const claim of claims.slice(0, 2)) {
      expect(await delivery(claim.deliveryId)).toMatchObject({ status: 'succeeded', lease_token: null, last_status_code: 200, next_attempt_at: null });
      expect((await attempts(claim.deliveryId)).map((a) => [a.attempt, a.outcome, a.duration_ms])).toEqual([[1, 'succeeded', 12]]);
    }
    expect(await delivery(claims[2]!.deliveryId)).toMatchObject({ status: 'pending', attempt: 2, lease_token: takeover!.leaseToken });
    // The stale attempt's log row still says what happened to it.
    expect((await attempts(claims[2]!.deliveryId)).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'succeeded'],
      [2, null],
    ]);
    const row = await t.db.selectFrom('webhook_subscriptions').select('failing_since').where('id', '=', sub.id).executeTakeFirstOrThrow();
    expect(row.failing_since).toBeNull();
    expect(await recordSuccesses(t.db, [{ lease: claims[0]!, result: ok }])).toEqual(new Set());
  });

  it.skipIf(!onServer())('a success write stuck on the database fails after the recorder’s timeout, and later successes are written (server)', async () => {
    await subscription();
    for (let i = 0; i < 2; i++) await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: { i } });
    const [stuck, later] = await claimDueDeliveries(t.db, { limit: 2, leaseMs: 30_000 });
    const recorder = new SuccessRecorder(t.db, 500);
    // Another session holds the first delivery's row, as a query lost in a restart would hold its writer.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const holder = t.db.transaction().execute(async (trx) => {
      await sql`select id from webhook_deliveries where id = ${stuck!.deliveryId} for update`.execute(trx);
      locked();
      await gate;
    });
    await holding;
    try {
      await expect(recorder.record({ claim: stuck!, result: ok })).rejects.toThrow(/not recorded within 500 ms/);
    } finally {
      release();
      await holder;
    }
    expect(await recorder.record({ claim: later!, result: ok })).toBe(true);
    expect(await delivery(later!.deliveryId)).toMatchObject({ status: 'succeeded' });
  });

  it('a worker that still holds an expired lease nobody took over may record', async () => {
    await subscription();
    const { deliveryIds } = await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: {} });
    const [claim] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 30_000 });
    await expireLeases();
    expect(await recordAttemptResult(t.db, claim!, ok, policy)).toMatchObject({ recorded: true, status: 'succeeded' });
    expect((await delivery(deliveryIds[0]!)).status).toBe('succeeded');
  });

  it('failures follow the retry schedule, then the delivery fails', async () => {
    await subscription();
    const { deliveryIds } = await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: {} });
    const id = deliveryIds[0]!;
    const expected = [1_000, 2_000];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await sql`update webhook_deliveries set next_attempt_at = now() where id = ${id} and status = 'pending'`.execute(t.db);
      const [claim] = await claimDueDeliveries(t.db, { limit: 1, leaseMs: 30_000 });
      expect(claim!.attempt).toBe(attempt);
      const before = Date.now();
      const outcome = await recordAttemptResult(t.db, claim!, failed, policy);
      if (attempt <= 2) {
        expect(outcome).toMatchObject({ recorded: true, status: 'pending' });
        const wait = (outcome as { nextAttemptAt: Date }).nextAttemptAt.getTime() - before;
        expect(wait).toBeGreaterThan(expected[attempt - 1]! - 500);
        expect(wait).toBeLessThan(expected[attempt - 1]! + 500);
      } else {
        expect(outcome).toMatchObject({ recorded: true, status: 'failed', nextAttemptAt: null });
      }
    }
    expect((await attempts(id)).map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
  });

  it('claims skip deliveries of inactive subscriptions', async () => {
    const sub = await subscription();
    await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: {} });
    await t.db.updateTable('webhook_subscriptions').set({ active: false }).where('id', '=', sub.id).execute();
    expect(await claimDueDeliveries(t.db, { limit: 10, leaseMs: 30_000 })).toEqual([]);
  });

  it('concurrent claimers never get the same delivery', async () => {
    await subscription();
    await subscription();
    for (let i = 0; i < 40; i++) await enqueueEvent(t.db, { type: 'churn_risk.opened', payload: { i } });
    const batches = await Promise.all(Array.from({ length: 8 }, () => claimDueDeliveries(t.db, { limit: 15, leaseMs: 30_000 })));
    const ids = batches.flat().map((c) => c.deliveryId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(80);
  });
});

describe('the retry schedule', () => {
  it('defaults to the Standard Webhooks example: 10 attempts over about 3 days', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([5e3, 3e5, 1.8e6, 7.2e6, 1.8e7, 3.6e7, 5.04e7, 7.2e7, 8.64e7]);
    const total = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total / 86_400_000).toBeGreaterThan(3);
    expect(total / 86_400_000).toBeLessThan(3.25);
  });

  it('jitters each delay within its fraction', () => {
    const p = { ...policy, jitter: 0.1 };
    expect(retryDelayMs({ ...p, random: () => 0 }, 1)).toBe(900);
    expect(retryDelayMs({ ...p, random: () => 0.5 }, 1)).toBe(1_000);
    expect(retryDelayMs({ ...p, random: () => 0.999999 }, 2)).toBe(2_200);
    expect(retryDelayMs(p, 3)).toBeUndefined();
  });
});

describe('drainOutbox (for a cron trigger)', () => {
  it('sends everything due, then returns', async () => {
    const receiver = await new Receiver().start();
    try {
      const { subscription: sub, secret } = await createSubscription(t.db, { url: `${receiver.url}/d`, eventTypes: ['follow_up.due'] });
      receiver.secret = secret;
      for (let i = 0; i < 7; i++) await enqueueEvent(t.db, { type: 'follow_up.due', payload: { i } });
      const attempts = await drainOutbox({ db: t.db, logger: createLogger('silent'), concurrency: 3, maxDurationMs: 30_000 });
      expect(attempts).toBe(7);
      expect(receiver.acceptedById().size).toBe(7);
      const done = await t.db.selectFrom('webhook_deliveries').select('status').where('subscription_id', '=', sub.id).execute();
      expect(done.every((d) => d.status === 'succeeded')).toBe(true);
    } finally {
      await receiver.stop();
    }
  });
});
