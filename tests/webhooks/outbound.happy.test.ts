import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { enqueueEvent, enqueueEvents } from '../../src/webhooks/outbound/repository.js';
import { OutboxWorker, type OutboxWorkerOptions } from '../../src/outbox/worker.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Receiver } from './outbound-receiver.js';

let s: TestServer;
let receiver: Receiver;
let worker: OutboxWorker | undefined;

beforeAll(async () => {
  s = await startTestServer();
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await worker?.stop();
  await receiver.stop();
  await s.close();
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  receiver.received.length = 0;
  receiver.rejected.length = 0;
  receiver.respond = () => 200;
  await s.db.deleteFrom('webhook_subscriptions').execute();
});

const FAST: Partial<OutboxWorkerOptions> = { pollIntervalMs: 50, retryScheduleMs: [30, 30, 30], jitter: 0, leaseMs: 5_000, requestTimeoutMs: 2_000 };

function startWorker(options: Partial<OutboxWorkerOptions> = {}) {
  worker = new OutboxWorker({ db: s.db, logger: createLogger('silent'), ...FAST, ...options }).start();
  return worker;
}

type Subscription = { id: number; secret: string; active: boolean; disabledReason: string | null; disabledAt: string | null };

async function subscribe(body: Record<string, unknown> = {}, path = '/hook'): Promise<Subscription> {
  const res = await s.call('POST', '/v1/webhooks/subscriptions', {
    body: { url: receiver.url + path, eventTypes: ['churn_risk.opened', 'health.band_changed'], ...body },
  });
  expect(res.status).toBe(201);
  const sub = (await res.json()) as Subscription;
  receiver.secrets.set(path, sub.secret);
  return sub;
}

const getSub = async (id: number) => (await (await s.call('GET', `/v1/webhooks/subscriptions/${id}`)).json()) as Subscription;

type Delivery = {
  id: number;
  eventId: string;
  status: string;
  attemptCount: number;
  lastStatusCode: number | null;
  replayOf: number | null;
  attempts: { attempt: number; statusCode: number | null; outcome: string | null; durationMs: number | null; error: string | null }[];
};
const deliveries = async (subId: number, query = '') =>
  (await (await s.call('GET', `/v1/webhooks/subscriptions/${subId}/deliveries${query}`)).json()) as { items: Delivery[]; nextCursor: string | null };

describe('delivery', () => {
  it('signs a Standard Webhooks envelope that a real receiver verifies, with the event id as webhook-id', async () => {
    const sub = await subscribe();
    startWorker();
    const { eventId, deliveryIds } = await enqueueEvent(s.db, {
      type: 'churn_risk.opened',
      payload: { account: { externalId: 'acme', name: 'Acme' }, reason: 'usage dropped 40%' },
      occurredAt: new Date('2026-10-01T12:00:00Z'),
    });
    expect(eventId).toMatch(/^msg_[0-9A-Z]{26}$/);
    expect(deliveryIds).toHaveLength(1);
    await receiver.waitFor((r) => r.received.length === 1);

    const got = receiver.received[0]!;
    expect(receiver.rejected).toEqual([]);
    expect(got.webhookId).toBe(eventId);
    expect(got.json).toEqual({
      type: 'churn_risk.opened',
      timestamp: '2026-10-01T12:00:00.000Z',
      data: { account: { externalId: 'acme', name: 'Acme' }, reason: 'usage dropped 40%' },
    });
    expect(got.headers['content-type']).toBe('application/json');
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(got.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // A receiver with another secret rejects it.
    const other = new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(() =>
      other.verify(got.body, { 'webhook-id': got.webhookId, 'webhook-timestamp': got.timestamp, 'webhook-signature': got.signature }),
    ).toThrow();

    await expect.poll(async () => (await deliveries(sub.id)).items[0]?.status).toBe('succeeded');
    const log = (await deliveries(sub.id)).items[0]!;
    expect(log).toMatchObject({ eventId, attemptCount: 1, lastStatusCode: 200 });
    expect(log.attempts).toMatchObject([{ attempt: 1, statusCode: 200, outcome: 'succeeded', error: null }]);
    expect(log.attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('only matching active subscriptions get a delivery', async () => {
    const a = await subscribe({ eventTypes: ['follow_up.due'] }, '/a');
    await subscribe({ eventTypes: ['churn_risk.opened'] }, '/b');
    await subscribe({ eventTypes: ['follow_up.due'], active: false }, '/c');
    const { deliveryIds } = await enqueueEvent(s.db, { type: 'follow_up.due', payload: { title: 'Call Acme' } });
    expect(deliveryIds).toHaveLength(1);
    const none = await enqueueEvent(s.db, { type: 'follow_up.overdue', payload: {} });
    expect(none.deliveryIds).toEqual([]);
    startWorker();
    await receiver.waitFor((r) => r.received.length === 1);
    expect(receiver.received[0]!.path).toBe('/a');
    expect((await deliveries(a.id)).items).toHaveLength(1);
  });

  it('retries after 500s, then succeeds, with the same webhook-id and a fresh timestamp on every attempt', async () => {
    const sub = await subscribe();
    let calls = 0;
    receiver.respond = () => (++calls <= 2 ? 500 : 200);
    startWorker();
    const { eventId } = await enqueueEvent(s.db, { type: 'health.band_changed', payload: { from: 'green', to: 'yellow' } });
    await receiver.waitFor((r) => r.received.length === 3);
    // Recorded as succeeded: no attempt follows.
    await expect.poll(async () => (await deliveries(sub.id)).items[0]?.status).toBe('succeeded');
    expect(receiver.received.map((r) => [r.webhookId, r.status])).toEqual([
      [eventId, 500],
      [eventId, 500],
      [eventId, 200],
    ]);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    const log = (await deliveries(sub.id)).items[0]!;
    expect(log.attempts.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [1, 500, 'failed'],
      [2, 500, 'failed'],
      [3, 200, 'succeeded'],
    ]);
    expect(log.attempts[0]!.error).toBe('HTTP 500: status 500');
    // A success ends the failure streak.
    expect((await getSub(sub.id)) as unknown).toMatchObject({ active: true, failingSince: null });
  });

  it('gives up when the schedule runs out, and logs why', async () => {
    const sub = await subscribe();
    receiver.respond = () => 503;
    startWorker({ retryScheduleMs: [20, 20] });
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await expect.poll(async () => (await deliveries(sub.id)).items[0]?.status, { timeout: 5_000 }).toBe('failed');
    const log = (await deliveries(sub.id)).items[0]!;
    expect(log.attemptCount).toBe(3);
    expect(receiver.received).toHaveLength(3);
    const current = (await getSub(sub.id)) as unknown as { failingSince: string | null; active: boolean };
    expect(current.active).toBe(true);
    expect(current.failingSince).not.toBeNull();
  });

  it('records network failures without the URL', async () => {
    const down = await new Receiver().start();
    const port = down.port;
    await down.stop();
    const res = await s.call('POST', '/v1/webhooks/subscriptions', {
      body: { url: `http://127.0.0.1:${port}/secret-token-path`, eventTypes: ['churn_risk.opened'] },
    });
    const sub = (await res.json()) as Subscription;
    startWorker({ retryScheduleMs: [] });
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await expect.poll(async () => (await deliveries(sub.id)).items[0]?.status, { timeout: 5_000 }).toBe('failed');
    const attempt = (await deliveries(sub.id)).items[0]!.attempts[0]!;
    expect(attempt.statusCode).toBeNull();
    expect(attempt.error).toMatch(/ECONNREFUSED/);
    expect(attempt.error).not.toContain('secret-token-path');
  });

  it('410 Gone disables the subscription at once, visibly; later events skip it until it is re-activated', async () => {
    const sub = await subscribe();
    receiver.respond = () => 410;
    startWorker();
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await expect.poll(async () => (await getSub(sub.id)).active).toBe(false);
    const disabled = await getSub(sub.id);
    expect(disabled.disabledReason).toMatch(/410 Gone/);
    expect(disabled.disabledAt).not.toBeNull();
    expect(receiver.received).toHaveLength(1);
    expect((await deliveries(sub.id)).items[0]).toMatchObject({ status: 'failed', attemptCount: 1, lastStatusCode: 410 });
    const list = (await (await s.call('GET', '/v1/webhooks/subscriptions?active=false')).json()) as { items: Subscription[] };
    expect(list.items.map((i) => i.id)).toEqual([sub.id]);

    expect((await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} })).deliveryIds).toEqual([]);

    receiver.respond = () => 200;
    const res = await s.call('PATCH', `/v1/webhooks/subscriptions/${sub.id}`, { body: { active: true } });
    expect(await res.json()).toMatchObject({ active: true, disabledReason: null, disabledAt: null });
    expect((await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} })).deliveryIds).toHaveLength(1);
    await receiver.waitFor((r) => r.received.length === 2);
  });

  it('disables a subscription whose deliveries have failed continuously for 5 days', async () => {
    const sub = await subscribe();
    receiver.respond = () => 500;
    await sql`update webhook_subscriptions set failing_since = now() - interval '5 days 1 minute' where id = ${sub.id}`.execute(s.db);
    startWorker();
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await expect.poll(async () => (await getSub(sub.id)).active).toBe(false);
    expect((await getSub(sub.id)).disabledReason).toMatch(/^every delivery failed for 5 days \(since \d{4}-\d\d-\d\dT/);
  });

  it('a failure streak shorter than 5 days does not disable', async () => {
    const sub = await subscribe();
    receiver.respond = () => 500;
    await sql`update webhook_subscriptions set failing_since = now() - interval '4 days' where id = ${sub.id}`.execute(s.db);
    startWorker({ retryScheduleMs: [] });
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await expect.poll(async () => (await deliveries(sub.id)).items[0]?.status).toBe('failed');
    expect((await getSub(sub.id)).active).toBe(true);
  });

  it('holds deliveries while a subscription is paused and sends them when it is resumed', async () => {
    const sub = await subscribe();
    const { eventId } = await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: { n: 1 } });
    expect((await s.call('PATCH', `/v1/webhooks/subscriptions/${sub.id}`, { body: { active: false } })).status).toBe(200);
    expect((await getSub(sub.id)).disabledReason).toBe('deactivated through the API');
    startWorker();
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(0);
    await s.call('PATCH', `/v1/webhooks/subscriptions/${sub.id}`, { body: { active: true } });
    await receiver.waitFor((r) => r.received.length === 1);
    expect(receiver.received[0]!.webhookId).toBe(eventId);
  });

  it('replays a delivery as a new delivery with the same webhook-id', async () => {
    const sub = await subscribe();
    startWorker();
    const { eventId } = await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: { n: 1 } });
    await expect.poll(async () => (await deliveries(sub.id)).items[0]?.status).toBe('succeeded');
    const first = (await deliveries(sub.id)).items[0]!;

    const res = await s.call('POST', `/v1/webhooks/deliveries/${first.id}/replay`);
    expect(res.status).toBe(202);
    const replay = (await res.json()) as Delivery;
    expect(replay).toMatchObject({ eventId, replayOf: first.id });
    expect(replay.id).not.toBe(first.id);
    await receiver.waitFor((r) => r.received.length === 2);
    expect(receiver.received.map((r) => r.webhookId)).toEqual([eventId, eventId]);
    expect(receiver.received[1]!.json).toEqual(receiver.received[0]!.json);
    await expect.poll(async () => (await deliveries(sub.id)).items.map((d) => d.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('renders the slack format as an incoming-webhook message', async () => {
    await subscribe({ format: 'slack', eventTypes: ['health.band_changed'] }, '/slack');
    startWorker();
    await enqueueEvent(s.db, {
      type: 'health.band_changed',
      accountId: 1,
      payload: { account: { externalId: 'acme', name: 'Acme <Corp>' }, from: 'green', to: 'red', score: 41 },
    });
    await receiver.waitFor((r) => r.received.length === 1);
    const body = receiver.received[0]!.json as { text: string; blocks: { type: string; text?: { text: string }; fields?: unknown[] }[] };
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toBe('Health band changed for Acme &lt;Corp&gt; (acme): from *green* to *red* (score 41)');
    expect(body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(body.blocks[0]!.text!.text).toContain('Health band changed');
    expect(body.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context']);
  });

  it('the test endpoint sends webhook.test to that subscription only', async () => {
    const sub = await subscribe({ eventTypes: ['follow_up.due'] }, '/t1');
    await subscribe({ eventTypes: ['webhook.test'] }, '/t2');
    startWorker();
    const res = await s.call('POST', `/v1/webhooks/subscriptions/${sub.id}/test`);
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    await receiver.waitFor((r) => r.received.length === 1);
    // The only delivery of the event: nothing else will be sent for it.
    expect(await s.db.selectFrom('webhook_deliveries').select('subscription_id').where('event_id', '=', eventId).execute()).toEqual([
      { subscription_id: sub.id },
    ]);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({ path: '/t1', webhookId: eventId });
    expect(receiver.received[0]!.json).toMatchObject({ type: 'webhook.test', data: { subscriptionId: sub.id } });
  });

  it('after a secret rotation, deliveries verify with the old and the new secret', async () => {
    const sub = await subscribe();
    const res = await s.call('POST', `/v1/webhooks/subscriptions/${sub.id}/secret`, { body: {} });
    expect(res.status).toBe(201);
    const rotated = (await res.json()) as { secret: string; previousSecretExpiresAt: string };
    expect(rotated.secret).not.toBe(sub.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
    startWorker();
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await receiver.waitFor((r) => r.received.length === 1);
    const got = receiver.received[0]!;
    expect(got.signature.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': got.webhookId, 'webhook-timestamp': got.timestamp, 'webhook-signature': got.signature };
    expect(new Webhook(rotated.secret).verify(got.body, headers)).toEqual(got.json);

    // Rotating with no overlap retires the old one at once.
    const again = (await (await s.call('POST', `/v1/webhooks/subscriptions/${sub.id}/secret`, { body: { overlapHours: 0 } })).json()) as {
      secret: string;
      previousSecretExpiresAt: string | null;
    };
    expect(again.previousSecretExpiresAt).toBeNull();
    receiver.secrets.set('/hook', again.secret);
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await receiver.waitFor((r) => r.received.length === 2);
    expect(receiver.received[1]!.signature.split(' ')).toHaveLength(1);
  });

  it('wakes at once for events enqueued in this process, without waiting for the poll', async () => {
    await subscribe();
    startWorker({ pollIntervalMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100)); // the first poll has run and found nothing
    const started = Date.now();
    await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: {} });
    await receiver.waitFor((r) => r.received.length === 1, 5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('wake-ups', () => {
  it('a worker that LISTENs sends a delivery committed elsewhere long before its next poll', async () => {
    const sub = await subscribe();
    startWorker({ pollIntervalMs: 600_000, listen: s.database.listen });
    await new Promise((r) => setTimeout(r, 300)); // past its first look, now waiting for the 10-minute poll
    // What another process's enqueueEvent writes: the rows, then the NOTIFY, then the commit.
    await s.db.transaction().execute(async (trx) => {
      const event = 'msg_' + 'W'.repeat(26);
      await sql`insert into webhook_events (id, type, payload) values (${event}, 'churn_risk.opened', cast('{"n":1}' as jsonb))`.execute(trx);
      await sql`insert into webhook_deliveries (event_id, subscription_id, next_attempt_at) values (${event}, ${sub.id}, now())`.execute(trx);
      await sql`select pg_notify('healthscore_outbox', '')`.execute(trx);
    });
    await receiver.waitFor((r) => r.received.some((x) => x.webhookId === 'msg_' + 'W'.repeat(26)), 30_000);
  });

  it('enqueueEvent notifies listeners when its transaction commits, and not when it rolls back', async () => {
    await subscribe();
    let notified = 0;
    const unlisten = await s.database.listen('healthscore_outbox', () => void notified++);
    try {
      await expect(
        s.db.transaction().execute(async (trx) => {
          await enqueueEvent(trx, { type: 'churn_risk.opened', payload: { n: 1 } });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: { n: 2 } });
      for (let i = 0; i < 100 && notified === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(notified).toBe(1);
    } finally {
      await unlisten();
    }
  });
});

describe('the outbox', () => {
  it('an event exists only if the caller’s transaction commits', async () => {
    await subscribe();
    const before = await countRows();
    await expect(
      s.db.transaction().execute(async (trx) => {
        await enqueueEvent(trx, { type: 'churn_risk.opened', payload: { n: 1 } });
        throw new Error('the caller rolls back');
      }),
    ).rejects.toThrow('the caller rolls back');
    expect(await countRows()).toEqual(before);

    const committed = await s.db.transaction().execute((trx) => enqueueEvent(trx, { type: 'churn_risk.opened', payload: { n: 2 } }));
    expect(await countRows()).toEqual({ events: before.events + 1, deliveries: before.deliveries + 1 });
    const row = await s.db.selectFrom('webhook_events').selectAll().where('id', '=', committed.eventId).executeTakeFirstOrThrow();
    expect(row.payload).toEqual({ n: 2 });
  });

  it('enqueues many events at once: one delivery per matching subscription each, in order, and nothing if one input is bad', async () => {
    const both = await subscribe({}, '/both');
    const bandOnly = await subscribe({ eventTypes: ['health.band_changed'] }, '/band');
    const before = await countRows();
    const inputs = Array.from({ length: 1_203 }, (_, i) => ({
      type: i % 3 === 0 ? ('churn_risk.opened' as const) : ('health.band_changed' as const),
      accountId: i,
      payload: { i },
    }));
    const result = await enqueueEvents(s.db, inputs);
    expect(result).toHaveLength(inputs.length);
    expect(new Set(result.map((r) => r.eventId)).size).toBe(inputs.length);
    result.forEach((r, i) => expect(r.deliveryIds).toHaveLength(i % 3 === 0 ? 1 : 2));
    const band = inputs.filter((x) => x.type === 'health.band_changed').length;
    expect(await countRows()).toEqual({ events: before.events + 1_203, deliveries: before.deliveries + 1_203 + band });

    const stored = await s.db.selectFrom('webhook_events').select(['id', 'payload', 'subject_account_id']).where('id', '=', result[1_202]!.eventId).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ payload: { i: 1_202 }, subject_account_id: 1_202 });
    const perSub = await sql<{ subscription_id: number; n: number }>`
      select subscription_id, count(*)::int as n from webhook_deliveries where subscription_id in (${both.id}, ${bandOnly.id}) group by 1`.execute(s.db);
    expect(Object.fromEntries(perSub.rows.map((r) => [Number(r.subscription_id), r.n]))).toEqual({ [both.id]: 1_203, [bandOnly.id]: band });

    await expect(enqueueEvents(s.db, [{ type: 'churn_risk.opened', payload: { ok: true } }, { type: 'nope' as never, payload: {} }])).rejects.toThrow(
      /unknown webhook event type/,
    );
    expect(await countRows()).toEqual({ events: before.events + 1_203, deliveries: before.deliveries + 1_203 + band });
  });

  it('refuses unknown types and non-object payloads', async () => {
    await expect(enqueueEvent(s.db, { type: 'nope' as never, payload: {} })).rejects.toThrow(/unknown webhook event type/);
    await expect(enqueueEvent(s.db, { type: 'churn_risk.opened', payload: [] as never })).rejects.toThrow(/JSON object/);
    await expect(enqueueEvent(s.db, { type: 'churn_risk.opened', payload: { big: 'x'.repeat(300_000) } })).rejects.toThrow(/bytes/);
  });
});

describe('the delivery log', () => {
  it('pages newest first with a keyset cursor and filters by status', async () => {
    const sub = await subscribe();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await enqueueEvent(s.db, { type: 'churn_risk.opened', payload: { i } })).eventId);
    const page1 = await deliveries(sub.id, '?limit=2');
    expect(page1.items.map((d) => d.eventId)).toEqual([ids[4], ids[3]]);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await deliveries(sub.id, `?limit=2&cursor=${page1.nextCursor}`);
    expect(page2.items.map((d) => d.eventId)).toEqual([ids[2], ids[1]]);
    const page3 = await deliveries(sub.id, `?limit=2&cursor=${page2.nextCursor}`);
    expect(page3.items.map((d) => d.eventId)).toEqual([ids[0]]);
    expect(page3.nextCursor).toBeNull();
    expect((await deliveries(sub.id, '?status=pending')).items).toHaveLength(5);
    expect((await deliveries(sub.id, '?status=succeeded')).items).toHaveLength(0);
  });
});

async function countRows() {
  const { rows } = await sql<{ events: number; deliveries: number }>`
    select (select count(*)::int from webhook_events) as events, (select count(*)::int from webhook_deliveries) as deliveries`.execute(s.db);
  return rows[0]!;
}
