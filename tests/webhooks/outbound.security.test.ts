import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/logger.js';
import { resolvedAddressCheck } from '../../src/outbox/destinations.js';
import { dnsDestinationCheck } from '../../src/outbox/node-destinations.js';
import { createSubscription, enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { drainOutbox, OutboxWorker } from '../../src/outbox/worker.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Receiver } from './outbound-receiver.js';

let s: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  s = await startTestServer();
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver.stop();
  await s.close();
});

const base = '/v1/webhooks/subscriptions';

const routes: [string, string, unknown?][] = [
  ['POST', base, { url: 'https://x.example.com', eventTypes: ['follow_up.due'] }],
  ['GET', base],
  ['GET', `${base}/1`],
  ['PATCH', `${base}/1`, { active: false }],
  ['DELETE', `${base}/1`],
  ['POST', `${base}/1/secret`, {}],
  ['GET', `${base}/1/deliveries`],
  ['POST', `${base}/1/test`],
  ['POST', '/v1/webhooks/deliveries/1/replay'],
];

describe('access', () => {
  it.each(routes)('%s %s needs an API key', async (method, path, body) => {
    await expectProblem(await s.call(method, path, { key: null, body }), 401, 'unauthorized');
    await expectProblem(await s.call(method, path, { key: 'hs_not_a_real_key_aaaaaaaaaaaaaaaaaaaaaaaa', body }), 401, 'unauthorized');
  });

  it.each(routes)('%s %s needs the admin scope', async (method, path, body) => {
    const key = await s.keyWith('read', 'write', 'ingest');
    await expectProblem(await s.call(method, path, { key, body }), 403, 'forbidden');
  });
});

describe('the signing secret', () => {
  it('is a whsec_ secret of 32 random bytes, shown on create and never again', async () => {
    const res = await s.call('POST', base, { body: { url: `${receiver.url}/sec`, eventTypes: ['follow_up.due'], ownerContact: 'ops@example.com' } });
    const created = (await res.json()) as { id: number; secret: string };
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    const other = (await (await s.call('POST', base, { body: { url: `${receiver.url}/sec2`, eventTypes: ['follow_up.due'] } })).json()) as {
      secret: string;
    };
    expect(other.secret).not.toBe(created.secret);

    await enqueueEvent(s.db, { type: 'follow_up.due', payload: {} });
    const texts = await Promise.all(
      [
        s.call('GET', base),
        s.call('GET', `${base}/${created.id}`),
        s.call('PATCH', `${base}/${created.id}`, { body: { description: 'x' } }),
        s.call('GET', `${base}/${created.id}/deliveries`),
        s.call('GET', '/openapi.json'),
      ].map(async (r) => (await r).text()),
    );
    for (const text of texts) {
      expect(text).not.toContain(created.secret);
      expect(text).not.toMatch(/whsec_[A-Za-z0-9+/]{10}/);
    }
  });

  it('an Idempotency-Key retry of a create answers the same subscription and creates no second one', async () => {
    const body = { url: `${receiver.url}/idem`, eventTypes: ['churn_risk.resolved'] };
    const headers = { 'idempotency-key': 'create-sub-1' };
    const first = (await (await s.call('POST', base, { body, headers })).json()) as { id: number; secret: string };
    const second = await s.call('POST', base, { body, headers });
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(((await second.json()) as { id: number }).id).toBe(first.id);
    const list = (await (await s.call('GET', base)).json()) as { items: { url: string }[] };
    expect(list.items.filter((i) => i.url === body.url)).toHaveLength(1);
  });

  it('a receiver holding another secret rejects the delivery, and the log says 401', async () => {
    const res = await s.call('POST', base, { body: { url: `${receiver.url}/wrong`, eventTypes: ['follow_up.overdue'] } });
    const { id } = (await res.json()) as { id: number };
    receiver.secrets.set('/wrong', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const worker = new OutboxWorker({ db: s.db, logger: silentLogger(), pollIntervalMs: 50, retryScheduleMs: [] }).start();
    try {
      await enqueueEvent(s.db, { type: 'follow_up.overdue', payload: {} });
      await receiver.waitFor((r) => r.rejected.some((x) => x.path === '/wrong'));
      await expect
        .poll(async () => ((await (await s.call('GET', `${base}/${id}/deliveries`)).json()) as { items: { lastStatusCode: number }[] }).items[0]?.lastStatusCode)
        .toBe(401);
    } finally {
      await worker.stop();
    }
  });
});

describe('logs', () => {
  it('name the host, never the URL path (a Slack webhook URL is a secret) or the signing secret', async () => {
    const lines: string[] = [];
    const logger = captureLogger(lines);
    const res = await s.call('POST', base, {
      body: { url: `${receiver.url}/services/T000/B000/XXXXSECRETPATH`, eventTypes: ['churn_risk.updated'], format: 'slack' },
    });
    const { secret } = (await res.json()) as { secret: string };
    receiver.secrets.set('/services/T000/B000/XXXXSECRETPATH', secret);
    let calls = 0;
    receiver.respond = () => (++calls === 1 ? 500 : 410);
    const worker = new OutboxWorker({ db: s.db, logger, pollIntervalMs: 50, retryScheduleMs: [10], jitter: 0 }).start();
    try {
      await enqueueEvent(s.db, { type: 'churn_risk.updated', payload: { reason: 'x' } });
      await waitUntil(() => lines.some((l) => l.includes('subscription disabled')));
    } finally {
      await worker.stop();
      receiver.respond = () => 200;
    }
    const all = lines.join('\n');
    expect(all).toContain(`127.0.0.1:${receiver.port}`);
    expect(all).not.toContain('XXXXSECRETPATH');
    expect(all).not.toContain(secret);
    expect(all).not.toContain('webhook-signature');
  });
});

function silentLogger(): Logger {
  return captureLogger([]);
}

function captureLogger(lines: string[]): Logger {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push(JSON.stringify({ level, msg, ...fields }));
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

async function waitUntil(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('destinations on this machine or a private network', () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startTestServer({ allowPrivateWebhookUrls: false });
  });
  afterAll(() => strict.close());

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://api.localhost/hook',
    'http://[::1]/hook',
    'http://10.1.2.3/hook',
    'http://192.168.0.10/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/hook',
    'http://[::ffff:10.0.0.1]/hook',
    'http://[fd00::1]/hook',
    'http://0.0.0.0/hook',
    'http://2130706433/hook', // 127.0.0.1 written as one number
  ])('refuses %s by default, naming the field', async (url) => {
    const res = await strict.call('POST', base, { body: { url, eventTypes: ['follow_up.due'] } });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors).toEqual([{ field: 'body.url', message: expect.stringMatching(/must not point to/) }]);
    expect(problem.detail).toMatch(/WEBHOOK_ALLOW_PRIVATE_URLS/);
  });

  it('refuses a change of URL to such an address, and accepts public names and addresses', async () => {
    const created = await strict.call('POST', base, { body: { url: 'https://hooks.example.com/a', eventTypes: ['follow_up.due'] } });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    await expectProblem(await strict.call('PATCH', `${base}/${id}`, { body: { url: 'http://10.0.0.8/x' } }), 400, 'validation_failed');
    expect((await strict.call('PATCH', `${base}/${id}`, { body: { url: 'https://203.0.114.7/x' } })).status).toBe(200);
  });

  it('the delivery-time check refuses names that resolve to private addresses', async () => {
    const check = resolvedAddressCheck(async (host) => ({ 'inside.example.com': ['93.184.216.34', '10.0.0.5'], 'outside.example.com': ['93.184.216.34', '2606:2800:220:1::1'] })[host] ?? []);
    expect(await check('https://inside.example.com/hook')).toMatch(/inside\.example\.com resolves to 10\.0\.0\.5/);
    expect(await check('https://outside.example.com/hook')).toBeUndefined();
    expect(await check('http://127.0.0.1:9/hook')).toMatch(/refused/);
    const failing = resolvedAddressCheck(async () => {
      throw new Error('ENOTFOUND');
    });
    expect(await failing('https://nowhere.example.com/hook')).toBeUndefined(); // the request itself reports it
  });

  it('a worker with the Node check refuses a delivery to 127.0.0.1: nothing is sent and the attempt says why', async () => {
    await strict.db.deleteFrom('webhook_subscriptions').execute();
    const sub = await createSubscription(strict.db, { url: `${receiver.url}/private`, eventTypes: ['follow_up.due'] });
    receiver.secrets.set('/private', sub.secret);
    const { deliveryIds } = await enqueueEvent(strict.db, { type: 'follow_up.due', payload: { n: 1 } });
    const attempts = await drainOutbox({ db: strict.db, logger: createLogger('silent'), checkDestination: dnsDestinationCheck, retryScheduleMs: [60_000] });
    expect(attempts).toBe(1);
    expect(receiver.received.filter((r) => r.path === '/private')).toHaveLength(0);
    const row = await strict.db.selectFrom('webhook_deliveries').select(['status', 'last_error']).where('id', '=', deliveryIds[0]!).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'pending', last_error: expect.stringMatching(/^refused: .*127\.0\.0\.1/) });
  });
});
