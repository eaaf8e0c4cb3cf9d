import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscription, enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort, type Spawned, spawnTs, waitFor } from '../support/process.js';
import { Receiver } from './outbound-receiver.js';

/**
 * Real service processes (src/node.ts) on one PostgreSQL, delivering to a
 * real receiver that verifies every signature. Server only: the embedded
 * database belongs to one process.
 */
const onServer = Boolean(process.env.DATABASE_URL);

let t: TestDatabase;
const receivers: Receiver[] = [];
const services: Spawned[] = [];

beforeAll(async () => {
  if (onServer) t = await createTestDatabase();
});
afterAll(async () => {
  for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await Promise.all(services.map((s) => s.exited));
  await Promise.all(receivers.map((r) => r.stop()));
  await t?.close();
});

async function startService(env: Record<string, string>): Promise<Spawned> {
  const port = await freePort();
  // The receiver listens on 127.0.0.1.
  const service = spawnTs('src/node.ts', [], { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: t.url!, LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', ...env });
  services.push(service);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, 'service start');
  return service;
}

/** Events in `size`-sized transactions; payload `n` numbers them. */
async function enqueue(from: number, count: number, size = 10) {
  const ids = new Map<number, string>();
  for (let i = from; i < from + count; i += size) {
    await t.db.transaction().execute(async (trx) => {
      for (let n = i; n < Math.min(i + size, from + count); n++) {
        ids.set(n, (await enqueueEvent(trx, { type: 'churn_risk.opened', payload: { n } })).eventId);
      }
    });
  }
  return ids;
}

const n = (r: { json: Record<string, unknown> }) => (r.json.data as { n: number }).n;

describe.runIf(onServer)('outbound webhooks across processes', () => {
  it('two services on one database send each (event, attempt) exactly once', async () => {
    const EVENTS = 300;
    const receiver = await new Receiver().start();
    receivers.push(receiver);
    const { subscription, secret } = await createSubscription(t.db, { url: `${receiver.url}/two`, eventTypes: ['churn_risk.opened'] });
    receiver.secret = secret;
    receiver.delayMs = 5;
    // Every fourth event fails its first attempt, so retries are shared out too.
    const seen = new Set<number>();
    receiver.respond = (r) => {
      const first = !seen.has(n(r));
      seen.add(n(r));
      return first && n(r) % 4 === 0 ? 500 : 200;
    };

    const env = {
      LOG_LEVEL: 'debug',
      OUTBOX_CONCURRENCY: '4',
      OUTBOX_POLL_INTERVAL_MS: '100',
      OUTBOX_LEASE_MS: '30000',
      WEBHOOK_RETRY_SCHEDULE_MS: '100,100,100,100,100',
    };
    const [a, b] = await Promise.all([startService(env), startService(env)]);
    const ids = await enqueue(0, EVENTS);

    await receiver.waitFor((r) => r.acceptedById().size === EVENTS, 90_000, 'every event accepted');
    await waitFor(
      async () =>
        (await t.db.selectFrom('webhook_deliveries').select('id').where('status', '!=', 'succeeded').execute()).length === 0,
      20_000,
      'every delivery recorded',
    );
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);

    expect(receiver.rejected).toEqual([]);
    const rows = await t.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'event_id', 'attempt', 'status'])
      .where('subscription_id', '=', subscription.id)
      .execute();
    expect(rows).toHaveLength(EVENTS);
    const numberOf = new Map([...ids].map(([num, id]) => [id, num]));
    const received = new Map<string, number>();
    for (const r of receiver.received) received.set(r.webhookId, (received.get(r.webhookId) ?? 0) + 1);
    for (const row of rows) {
      // As many requests as attempts: no attempt was sent twice.
      expect({ event: row.event_id, requests: received.get(row.event_id) }).toEqual({ event: row.event_id, requests: row.attempt });
      expect(row.attempt).toBe(numberOf.get(row.event_id)! % 4 === 0 ? 2 : 1);
    }
    for (const [num, id] of ids) expect(receiver.acceptedById().get(id)?.map(n)).toEqual([num]);
    const { rows: abandoned } = await sql<{ n: number }>`
      select count(*)::int as n from webhook_delivery_attempts where outcome is distinct from 'succeeded' and outcome is distinct from 'failed'`.execute(t.db);
    expect(abandoned[0]!.n).toBe(0);

    // Both processes did part of the work.
    const delivered = (s: Spawned) => s.output().split('\n').filter((l) => l.includes('"msg":"webhook delivered"')).length;
    expect(delivered(a)).toBeGreaterThan(0);
    expect(delivered(b)).toBeGreaterThan(0);
    expect(delivered(a) + delivered(b)).toBe(EVENTS);
    expect(a.output() + b.output()).not.toContain('lease lost');
  }, 150_000);

  it('survives a receiver outage and SIGKILLs mid-delivery: everything arrives, one webhook-id per event, at most one duplicate per crash', async () => {
    const receiver = await new Receiver().start();
    receivers.push(receiver);
    const { secret } = await createSubscription(t.db, { url: `${receiver.url}/crash`, eventTypes: ['follow_up.due'] });
    receiver.secret = secret;
    const env = {
      OUTBOX_CONCURRENCY: '1',
      OUTBOX_POLL_INTERVAL_MS: '100',
      // Short leases so a killed worker's claim comes round soon after the restart.
      OUTBOX_LEASE_MS: '1500',
      WEBHOOK_RETRY_SCHEDULE_MS: Array.from({ length: 40 }, () => '250').join(','),
    };
    const events = new Map<number, string>();
    const addEvents = async (from: number, count: number) => {
      for (let i = from; i < from + count; i += 10) {
        await t.db.transaction().execute(async (trx) => {
          for (let k = i; k < i + 10; k++) events.set(k, (await enqueueEvent(trx, { type: 'follow_up.due', payload: { n: k } })).eventId);
        });
      }
    };

    let service = await startService(env);
    // Kill the service from inside the receiver while it waits for our answer:
    // the receiver has processed the delivery, the sender never learns it.
    const killAt = new Set([15, 60, 110]);
    let kills = 0;
    const inFlightAtKill: number[] = [];
    receiver.respond = (r) => {
      const accepted = receiver.received.filter((x) => x.status === 200).length;
      if (killAt.delete(accepted)) {
        kills++;
        inFlightAtKill.push(n(r));
        service.child.kill('SIGKILL');
      }
      return 200;
    };
    const restartAfterKill = async () => {
      await service.exited;
      service = await startService(env);
    };

    await addEvents(0, 100);
    await receiver.waitFor(() => kills === 1, 60_000, 'first kill');
    // The receiver goes down while the service is down, and stays down a while after it is back.
    await receiver.stop();
    await restartAfterKill();
    await addEvents(100, 50);
    // Attempts during the outage fail and are recorded as such (and retried once the receiver is back).
    const refused = async () =>
      (await t.db.selectFrom('webhook_delivery_attempts').select('error').where('error', 'like', '%ECONNREFUSED%').execute()).length;
    await waitFor(async () => (await refused()) > 0, 60_000, 'an attempt refused by the stopped receiver');
    expect(await refused()).toBeGreaterThan(0);
    await receiver.start();

    await receiver.waitFor(() => kills === 2, 60_000, 'second kill');
    await restartAfterKill();
    await receiver.waitFor(() => kills === 3, 60_000, 'third kill');
    await restartAfterKill();

    await receiver.waitFor((r) => r.acceptedById().size === events.size, 90_000, 'every event accepted');
    await waitFor(
      async () => (await t.db.selectFrom('webhook_deliveries').select('id').where('status', '!=', 'succeeded').execute()).length === 0,
      30_000,
      'every delivery recorded',
    );
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);

    expect(receiver.rejected).toEqual([]);
    // Every event arrived, and every request for it carried its one webhook-id.
    const idsByEvent = new Map<number, Set<string>>();
    for (const r of receiver.received) idsByEvent.set(n(r), (idsByEvent.get(n(r)) ?? new Set()).add(r.webhookId));
    expect(idsByEvent.size).toBe(events.size);
    for (const [num, id] of events) expect([...idsByEvent.get(num)!]).toEqual([id]);

    // Duplicates: only the deliveries in flight when the service died.
    const accepted = receiver.acceptedById();
    const duplicates = [...accepted.values()].reduce((sum, list) => sum + list.length - 1, 0);
    expect(kills).toBe(3);
    expect(duplicates).toBeLessThanOrEqual(kills);
    const duplicated = [...accepted.values()].filter((list) => list.length > 1).map((list) => n(list[0]!));
    for (const num of duplicated) expect(inFlightAtKill).toContain(num);
    // The attempts cut off by the kills are in the log as abandoned: the one in
    // flight, and at most one claimed in reserve (OUTBOX_CONCURRENCY 1) and never sent.
    const abandoned = await t.db.selectFrom('webhook_delivery_attempts').select('delivery_id').where('outcome', '=', 'abandoned').execute();
    expect(abandoned.length).toBeGreaterThanOrEqual(kills);
    expect(abandoned.length).toBeLessThanOrEqual(2 * kills);
  }, 240_000);
});
