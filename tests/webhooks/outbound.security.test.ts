import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { OutboxWorker } from '../../src/webhooks/outbound/worker.js';
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
