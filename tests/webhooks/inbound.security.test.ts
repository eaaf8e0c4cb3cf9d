import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let secret: string;
beforeAll(async () => {
  s = await startTestServer();
  await s.call('PUT', '/v1/accounts/acme', { body: { name: 'Acme' } });
  secret = ((await (await s.call('PUT', '/v1/admin/webhook-sources/analytics')).json()) as { secret: string }).secret;
});
afterAll(() => s.close());

let seq = 0;
const newId = () => `msg_sec_${Date.now().toString(36)}_${++seq}`;
const unix = (d: Date) => String(Math.floor(d.getTime() / 1000));

const usage = (eventId: string) => ({
  eventId,
  account: 'acme',
  occurredAt: '2026-01-05T10:00:00Z',
  metric: 'login',
});
const envelope = (eventId: string) => JSON.stringify({ type: 'usage.events', data: [usage(eventId)] });

interface Delivery {
  source?: string;
  payload: string;
  /** What the signature is computed over, when it differs from what is sent. */
  signedPayload?: string;
  id?: string;
  at?: Date;
  secrets?: string[];
  headers?: Record<string, string | undefined>;
  key?: string | null;
}

function post({ source = 'analytics', payload, signedPayload, id = newId(), at = new Date(), secrets = [secret], headers = {}, key = null }: Delivery) {
  const signature = secrets.map((x) => new Webhook(x).sign(id, at, signedPayload ?? payload)).join(' ');
  const all: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': unix(at),
    'webhook-signature': signature,
    ...headers,
  };
  return s.call('POST', `/v1/webhooks/inbound/${source}`, {
    key,
    body: payload,
    headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined)),
  });
}

const stored = async (eventId: string) =>
  (await s.db.selectFrom('usage_events').select('event_id').where('event_id', '=', eventId).executeTakeFirst()) !== undefined;
const recorded = async (webhookId: string) =>
  (await s.db.selectFrom('inbound_webhook_messages').select('webhook_id').where('webhook_id', '=', webhookId).executeTakeFirst()) !== undefined;

describe('signature verification', () => {
  it('a correctly signed delivery is accepted (control)', async () => {
    expect((await post({ payload: envelope('sec-ok') })).status).toBe(200);
    expect(await stored('sec-ok')).toBe(true);
  });

  it('a tampered body is refused and nothing is stored', async () => {
    const id = newId();
    const original = envelope('sec-tamper-a');
    const tampered = original.replace('sec-tamper-a', 'sec-tamper-b');
    await expectProblem(await post({ id, payload: tampered, signedPayload: original }), 401, 'unauthorized');
    // Whitespace counts too: the signature is over the raw bytes, not the parsed JSON.
    await expectProblem(await post({ payload: `${original} `, signedPayload: original }), 401, 'unauthorized');
    expect(await stored('sec-tamper-a')).toBe(false);
    expect(await stored('sec-tamper-b')).toBe(false);
    expect(await recorded(id)).toBe(false);
  });

  it('a signature made for another webhook-id or timestamp does not verify', async () => {
    const payload = envelope('sec-swap');
    const at = new Date();
    const signature = new Webhook(secret).sign('msg_original', at, payload);
    await expectProblem(
      await post({ payload, id: 'msg_other', at, headers: { 'webhook-signature': signature } }),
      401,
      'unauthorized',
    );
    const earlier = new Date(at.getTime() - 10_000);
    await expectProblem(
      await post({ payload, id: 'msg_original', at, headers: { 'webhook-signature': new Webhook(secret).sign('msg_original', earlier, payload) } }),
      401,
      'unauthorized',
    );
    expect(await stored('sec-swap')).toBe(false);
  });

  it('a timestamp more than 5 minutes old is refused, even correctly signed', async () => {
    const problem = await expectProblem(
      await post({ payload: envelope('sec-old'), at: new Date(Date.now() - 6 * 60_000) }),
      401,
      'unauthorized',
    );
    expect(problem.detail).toMatch(/timestamp/);
    expect(await stored('sec-old')).toBe(false);
    // Inside the tolerance is fine.
    expect((await post({ payload: envelope('sec-recent'), at: new Date(Date.now() - 4 * 60_000) })).status).toBe(200);
  });

  it('a timestamp more than 5 minutes in the future is refused', async () => {
    await expectProblem(await post({ payload: envelope('sec-future'), at: new Date(Date.now() + 6 * 60_000) }), 401, 'unauthorized');
    expect(await stored('sec-future')).toBe(false);
    expect((await post({ payload: envelope('sec-soon'), at: new Date(Date.now() + 4 * 60_000) })).status).toBe(200);
  });

  it('a malformed timestamp is refused', async () => {
    for (const ts of ['yesterday', '', '-5', '1.5e9']) {
      await expectProblem(await post({ payload: envelope('sec-ts'), headers: { 'webhook-timestamp': ts } }), 401, 'unauthorized');
    }
  });

  it('missing signature headers are refused', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const problem = await expectProblem(await post({ payload: envelope('sec-missing'), headers: { [name]: undefined } }), 401, 'unauthorized');
      expect(problem.detail).toContain(name);
    }
    expect(await stored('sec-missing')).toBe(false);
  });

  it('a wrong secret, a wrong scheme version or garbage in the signature header is refused', async () => {
    const other = 'whsec_' + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
    await expectProblem(await post({ payload: envelope('sec-wrong'), secrets: [other] }), 401, 'unauthorized');
    const id = newId();
    const at = new Date();
    const good = new Webhook(secret).sign(id, at, envelope('sec-v2')).split(',')[1];
    for (const header of [`v2,${good}`, `v1a,${good}`, good!, 'v1,', 'v1', ',,,', `v1,${good!.slice(0, -2)}`]) {
      await expectProblem(await post({ id, at, payload: envelope('sec-v2'), headers: { 'webhook-signature': header } }), 401, 'unauthorized');
    }
    expect(await stored('sec-wrong')).toBe(false);
    expect(await stored('sec-v2')).toBe(false);
  });

  it('one matching signature among several space-separated ones is enough', async () => {
    const other = 'whsec_' + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
    expect((await post({ payload: envelope('sec-multi'), secrets: [other, secret] })).status).toBe(200);
  });

  it('an unknown source is refused exactly like a bad signature', async () => {
    const unknown = await expectProblem(await post({ source: 'nosuchsource', payload: envelope('sec-unknown') }), 401, 'unauthorized');
    const badSig = await expectProblem(await post({ payload: envelope('sec-badsig'), secrets: [`whsec_${'A'.repeat(44)}`] }), 401, 'unauthorized');
    expect(unknown.detail).toBe(badSig.detail);
    for (const source of ['Analytics', 'a%20b', '-x', 'x'.repeat(70)]) {
      await expectProblem(await post({ source, payload: envelope('sec-unknown') }), 401, 'unauthorized');
    }
    // The timestamp check applies to unknown sources too, so the answers do not tell sources apart.
    const oldUnknown = await expectProblem(await post({ source: 'nosuchsource', payload: envelope('x'), at: new Date(Date.now() - 3600_000) }), 401, 'unauthorized');
    const oldKnown = await expectProblem(await post({ payload: envelope('x'), at: new Date(Date.now() - 3600_000) }), 401, 'unauthorized');
    expect(oldUnknown.detail).toBe(oldKnown.detail);
    expect(await stored('sec-unknown')).toBe(false);
  });

  it("another source's secret does not verify", async () => {
    const otherSecret = ((await (await s.call('PUT', '/v1/admin/webhook-sources/other-tool')).json()) as { secret: string }).secret;
    await expectProblem(await post({ payload: envelope('sec-cross'), secrets: [otherSecret] }), 401, 'unauthorized');
    expect((await post({ source: 'other-tool', payload: envelope('sec-cross'), secrets: [otherSecret] })).status).toBe(200);
  });

  it('an API key is no substitute for a signature', async () => {
    await expectProblem(
      await post({ payload: envelope('sec-apikey'), key: s.adminKey, headers: { 'webhook-signature': undefined } }),
      401,
      'unauthorized',
    );
    expect(await stored('sec-apikey')).toBe(false);
  });

  it('refusals never echo secrets or signatures', async () => {
    const id = newId();
    const at = new Date();
    const signature = new Webhook(secret).sign(id, at, 'something else');
    const res = await post({ id, at, payload: envelope('sec-echo'), headers: { 'webhook-signature': signature } });
    const text = await res.text();
    expect(res.status).toBe(401);
    expect(text).not.toContain(secret.slice(6, 20));
    expect(text).not.toContain(signature.slice(3, 20));
  });
});

describe('webhook source administration', () => {
  it('needs the admin scope', async () => {
    const ingest = await s.keyWith('ingest');
    const write = await s.keyWith('write');
    for (const key of [ingest, write]) {
      await expectProblem(await s.call('GET', '/v1/admin/webhook-sources', { key }), 403, 'forbidden');
      await expectProblem(await s.call('PUT', '/v1/admin/webhook-sources/sneaky', { key }), 403, 'forbidden');
      await expectProblem(await s.call('POST', '/v1/admin/webhook-sources/analytics/secrets', { key, body: {} }), 403, 'forbidden');
      await expectProblem(await s.call('DELETE', '/v1/admin/webhook-sources/analytics', { key }), 403, 'forbidden');
    }
    await expectProblem(await s.call('GET', '/v1/admin/webhook-sources', { key: null }), 401, 'unauthorized');
    await expectProblem(await s.call('PUT', '/v1/admin/webhook-sources/sneaky', { key: null }), 401, 'unauthorized');
    expect(await s.db.selectFrom('webhook_sources').select('name').where('name', '=', 'sneaky').executeTakeFirst()).toBeUndefined();
  });

  it('secrets are shown only when created: never in listings or on a repeated PUT', async () => {
    const rotated = (await (await s.call('POST', '/v1/admin/webhook-sources/analytics/secrets', { body: {} })).json()) as { secret: string };
    const listing = await (await s.call('GET', '/v1/admin/webhook-sources')).text();
    const again = await (await s.call('PUT', '/v1/admin/webhook-sources/analytics')).text();
    for (const text of [listing, again]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(rotated.secret);
      expect(text).not.toContain('whsec_');
    }
  });

  it('each secret is fresh random', async () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = (await (await s.call('POST', '/v1/admin/webhook-sources/analytics/secrets', { body: { expiresInHours: 1 } })).json()) as { secret: string };
      secrets.add(r.secret);
    }
    expect(secrets.size).toBe(5);
  });
});
