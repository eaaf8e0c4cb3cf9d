import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/compose/jobs.js';
import { parseConfig } from '../../src/config.js';
import { settingsFromEnv } from '../../src/jobs/environment.js';
import { settingsFromConfig } from '../../src/compose/node.js';
import { createSubscription, enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { Receiver } from '../webhooks/outbound-receiver.js';
import { silent } from './support.js';

/** Defect 8 of #12: the deliver-webhooks job honours WEBHOOK_REQUEST_TIMEOUT_MS and WEBHOOK_RETRY_SCHEDULE_MS. */

let t: TestDatabase;
let receiver: Receiver;
beforeAll(async () => {
  t = await createTestDatabase();
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver.stop();
  await t.close();
});

const deliverWebhooks = registry.find((j) => j.name === 'deliver-webhooks')!;

async function runWith(settings: ReturnType<typeof settingsFromConfig>) {
  await t.db.deleteFrom('webhook_subscriptions').execute();
  const { subscription, secret } = await createSubscription(t.db, { url: `${receiver.url}/slow`, eventTypes: ['follow_up.due'] });
  receiver.secrets.set('/slow', secret);
  await enqueueEvent(t.db, { type: 'follow_up.due', payload: { n: 1 } });
  const before = Date.now();
  const counts = await deliverWebhooks.handler({ db: t.db, logger: silent, scheduledFor: new Date(), settings });
  const row = await t.db
    .selectFrom('webhook_deliveries')
    .select(['status', 'last_error', 'next_attempt_at'])
    .where('subscription_id', '=', subscription.id)
    .executeTakeFirstOrThrow();
  return { counts, row, before };
}

describe('the deliver-webhooks job', () => {
  it('on Node with OUTBOX_WORKER_ENABLED=false: the configured timeout and retry schedule', async () => {
    receiver.delayMs = 3_000;
    const config = parseConfig({
      OUTBOX_WORKER_ENABLED: 'false',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      WEBHOOK_REQUEST_TIMEOUT_MS: '200',
      WEBHOOK_RETRY_SCHEDULE_MS: '3600000',
    });
    const { counts, row, before } = await runWith(settingsFromConfig(config));
    expect(counts).toEqual({ attempts: 1 });
    expect(row.status).toBe('pending');
    expect(row.last_error).toBe('no response within 200 ms');
    // The first retry of the configured schedule (1 h ± 10 %), not the default 5 s.
    expect(new Date(row.next_attempt_at!).getTime() - before).toBeGreaterThan(50 * 60_000);
  });

  it('on Workers: the same settings from string bindings', async () => {
    receiver.delayMs = 3_000;
    const settings = settingsFromEnv({ WEBHOOK_REQUEST_TIMEOUT_MS: '250', WEBHOOK_RETRY_SCHEDULE_MS: '7200000', HYPERDRIVE: { connectionString: 'x' } });
    const { row, before } = await runWith(settings);
    expect(row.last_error).toBe('no response within 250 ms');
    expect(new Date(row.next_attempt_at!).getTime() - before).toBeGreaterThan(100 * 60_000);
  });

  it('on Workers: a bad setting fails loudly and names it', () => {
    expect(() => settingsFromEnv({ WEBHOOK_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(/WEBHOOK_REQUEST_TIMEOUT_MS/);
  });

  it('on Workers: the settings of one env are parsed once', () => {
    const env = { WEBHOOK_RETENTION_DAYS: '7' };
    const first = settingsFromEnv(env);
    env.WEBHOOK_RETENTION_DAYS = 'soon';
    expect(settingsFromEnv(env)).toEqual(first);
  });
});
