import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepAlerts } from '../../src/alerts/evaluate.js';
import { createLogger } from '../../src/logger.js';
import { EVENT_TYPES } from '../../src/outbox/events.js';
import { createSubscription } from '../../src/webhooks/outbound/repository.js';
import { drainOutbox } from '../../src/outbox/worker.js';
import { makeAccount, setScore, STRUGGLING } from '../alerts/fixtures.js';
import { Contract } from '../support/contract.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Receiver } from './outbound-receiver.js';

/** #12, defect 7: webhook payloads have a published schema, and what is sent matches it. */

let s: TestServer;
let receiver: Receiver;
let contract: Contract;
beforeAll(async () => {
  s = await startTestServer();
  receiver = await new Receiver().start();
  contract = await Contract.fetch(s.url);
});
afterAll(async () => {
  await receiver.stop();
  await s.close();
});

const schemaOf = (type: string) => contract.document.webhooks![type]!.post!.requestBody!.content['application/json']!.schema;

describe('the webhooks section of /openapi.json', () => {
  it('publishes the envelope of every event type', () => {
    expect(Object.keys(contract.document.webhooks ?? {}).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) expect(schemaOf(type)).toMatchObject({ properties: { type: { const: type } } });
  });

  it('real deliveries (a test event, churn risks opened) match their published schema', async () => {
    const { subscription, secret } = await createSubscription(s.db, { url: `${receiver.url}/payloads`, eventTypes: ['churn_risk.opened', 'webhook.test'] });
    receiver.secrets.set('/payloads', secret);
    expect((await s.call('POST', `/v1/webhooks/subscriptions/${subscription.id}/test`)).status).toBe(202);
    const id = await makeAccount(s.db, { externalId: 'payload-co', retentionOwner: 'rita@example.com' });
    await setScore(s.db, id, 20, 'red', STRUGGLING);
    await sweepAlerts(s.db);
    await drainOutbox({ db: s.db, logger: createLogger('silent') });
    await receiver.waitFor((r) => r.received.filter((x) => x.path === '/payloads').length >= 2, 10_000, 'two deliveries');
    const received = receiver.received.filter((x) => x.path === '/payloads');
    expect(new Set(received.map((r) => r.json.type))).toEqual(new Set(['webhook.test', 'churn_risk.opened']));
    for (const r of received) expect(contract.errorsOf(schemaOf(r.json.type as string), r.json), r.body).toEqual([]);
  });
});
