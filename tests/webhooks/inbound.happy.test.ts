import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyDelivery } from '../../src/webhooks/inbound/verify.js';
import { runTs } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { compactUsage } from '../../src/signals/usage-compaction.js';
import { foldRescoreMarks } from '../../src/scoring/rescore-marks.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await s.call('POST', '/v1/accounts/batch', {
    body: { items: ['acme', 'globex', 'initech'].map((id) => ({ externalId: id, name: id })) },
  });
});
afterAll(() => s.close());
afterEach(() => {
  vi.useRealTimers();
});

// ---- the sender's side: sign with the library, post the exact bytes ----

let seq = 0;
const newId = () => `msg_happy_${Date.now().toString(36)}_${++seq}`;

async function deliver(source: string, secrets: string | string[], body: unknown, opts: { id?: string; at?: Date } = {}) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const id = opts.id ?? newId();
  const at = opts.at ?? new Date();
  const signature = [secrets].flat().map((secret) => new Webhook(secret).sign(id, at, payload)).join(' ');
  return s.call('POST', `/v1/webhooks/inbound/${source}`, {
    key: null,
    body: payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    },
  });
}

type Delivery = {
  webhookId: string;
  duplicate: boolean;
  type?: string;
  summary?: Record<string, number>;
  results?: { index: number; id: string | null; result: string; errors?: { field: string; message: string }[] }[];
};

async function addSource(name: string): Promise<string> {
  const res = await s.call('PUT', `/v1/admin/webhook-sources/${name}`);
  expect(res.status).toBe(201);
  return ((await res.json()) as { secret: string }).secret;
}

const count = async (table: 'usage_events' | 'tickets' | 'survey_responses' | 'contracts' | 'inbound_webhook_messages') =>
  (await s.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

// ---- the shared test vector of the Standard Webhooks spec ----

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const vectorHeaders = {
  'webhook-id': VECTOR.id,
  'webhook-timestamp': String(VECTOR.timestamp),
  'webhook-signature': VECTOR.signature,
};

describe('the Standard Webhooks test vector', () => {
  it("the library's sign reproduces the vector's signature", () => {
    expect(new Webhook(VECTOR.secret).sign(VECTOR.id, new Date(VECTOR.timestamp * 1000), VECTOR.body)).toBe(VECTOR.signature);
  });

  it('verifies with the library, and with our verifier, at the time it was signed', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(VECTOR.timestamp * 1000 + 10_000));
    expect(new Webhook(VECTOR.secret).verify(VECTOR.body, vectorHeaders)).toEqual({ test: 2432232314 });
    expect(verifyDelivery(['whsec_c29tZSBvdGhlciBzZWNyZXQgb2YgMzIgYnl0ZXMhIQ==', VECTOR.secret], VECTOR.body, vectorHeaders)).toEqual({
      ok: true,
      webhookId: VECTOR.id,
    });
  });

  it('is refused today: its timestamp is years old', () => {
    expect(() => new Webhook(VECTOR.secret).verify(VECTOR.body, vectorHeaders)).toThrow(/too old/);
    expect(verifyDelivery([VECTOR.secret], VECTOR.body, vectorHeaders)).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
  });
});

describe('webhook sources (admin)', () => {
  it('PUT creates a source with a whsec_ secret shown once, and is idempotent', async () => {
    const created = await s.call('PUT', '/v1/admin/webhook-sources/analytics-a');
    expect(created.status).toBe(201);
    const body = (await created.json()) as { name: string; secret: string; secretCount: number };
    expect(body).toMatchObject({ name: 'analytics-a', secretCount: 1 });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const bytes = Buffer.from(body.secret.slice('whsec_'.length), 'base64').length;
    expect(bytes).toBeGreaterThanOrEqual(24);
    expect(bytes).toBeLessThanOrEqual(64);

    const again = await s.call('PUT', '/v1/admin/webhook-sources/analytics-a');
    expect(again.status).toBe(200);
    const text = await again.text();
    expect(text).not.toContain('whsec_');
    expect(JSON.parse(text)).toMatchObject({ name: 'analytics-a', secretCount: 1 });
  });

  it('lists sources with their secret counts, never the secrets', async () => {
    const secret = await addSource('listed');
    const listing = await (await s.call('GET', '/v1/admin/webhook-sources')).text();
    expect(listing).not.toContain(secret);
    expect(listing).not.toContain('whsec_');
    const items = (JSON.parse(listing) as { items: { name: string; secretCount: number; createdAt: string }[] }).items;
    expect(items.find((i) => i.name === 'listed')).toMatchObject({ secretCount: 1, createdAt: expect.stringMatching(/^\d{4}-/) });
  });

  it('DELETE removes a source; its deliveries are refused from then on', async () => {
    const secret = await addSource('short-lived');
    expect((await deliver('short-lived', secret, { type: 'usage.events', data: [usage('del-1')] })).status).toBe(200);
    expect((await s.call('DELETE', '/v1/admin/webhook-sources/short-lived')).status).toBe(204);
    expect((await deliver('short-lived', secret, { type: 'usage.events', data: [usage('del-2')] })).status).toBe(401);
    const items = ((await (await s.call('GET', '/v1/admin/webhook-sources')).json()) as { items: { name: string }[] }).items;
    expect(items.map((i) => i.name)).not.toContain('short-lived');
  });
});

const usage = (eventId: string, account = 'acme') => ({
  eventId,
  account,
  occurredAt: '2026-01-05T10:00:00Z',
  metric: 'report.exported',
  quantity: 2,
  userId: 'ann',
});

describe('POST /v1/webhooks/inbound/{source}', () => {
  let analytics: string;
  let helpdesk: string;
  let surveys: string;
  let crm: string;
  beforeAll(async () => {
    [analytics, helpdesk, surveys, crm] = await Promise.all(['analytics', 'helpdesk', 'surveytool', 'crm'].map(addSource)) as [string, string, string, string];
  });

  it('usage.events: a signed delivery stores the events and answers per-item results', async () => {
    const res = await deliver('analytics', analytics, { type: 'usage.events', data: [usage('w-u-1'), usage('w-u-2', 'globex')] }, { id: 'msg_usage_1' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Delivery;
    expect(body).toMatchObject({
      webhookId: 'msg_usage_1',
      duplicate: false,
      type: 'usage.events',
      summary: { created: 2, error: 0 },
      results: [
        { index: 0, id: 'w-u-1', result: 'created' },
        { index: 1, id: 'w-u-2', result: 'created' },
      ],
    });
    const stored = await s.db.selectFrom('usage_events').select(['event_id', 'quantity']).where('event_id', 'in', ['w-u-1', 'w-u-2']).execute();
    expect(stored).toHaveLength(2);
    await foldRescoreMarks(s.db);
    const queued = await s.db.selectFrom('rescore_queue').select('account_id').execute();
    expect(queued.length).toBeGreaterThanOrEqual(2);
  });

  it('tickets.upserted, surveys.responses and contracts.upserted reach their tables', async () => {
    const ticket = { ticketId: 'W-T-1', account: 'acme', status: 'open', priority: 'high', openedAt: '2026-01-04T09:00:00Z', updatedAt: '2026-01-04T10:00:00Z' };
    const t = (await (await deliver('helpdesk', helpdesk, { type: 'tickets.upserted', data: [ticket] })).json()) as Delivery;
    expect(t.results).toEqual([{ index: 0, id: 'W-T-1', result: 'created' }]);

    const response = { responseId: 'W-S-1', account: 'globex', kind: 'nps', score: 9, respondedAt: '2026-01-04T12:00:00Z' };
    const sv = (await (await deliver('surveytool', surveys, { type: 'surveys.responses', data: [response] })).json()) as Delivery;
    expect(sv.results).toEqual([{ index: 0, id: 'W-S-1', result: 'created' }]);

    const contract = { contractId: 'W-C-1', account: 'initech', startDate: '2026-01-01', endDate: '2026-12-31', arr: 12000, status: 'active' };
    const ct = (await (await deliver('crm', crm, { type: 'contracts.upserted', data: [contract] })).json()) as Delivery;
    expect(ct.results).toEqual([{ index: 0, id: 'W-C-1', result: 'created' }]);

    expect(await s.db.selectFrom('tickets').select(['status', 'priority']).where('ticket_id', '=', 'W-T-1').executeTakeFirst()).toEqual({ status: 'open', priority: 'high' });
    expect(await s.db.selectFrom('survey_responses').select(['kind', 'score']).where('response_id', '=', 'W-S-1').executeTakeFirst()).toEqual({ kind: 'nps', score: 9 });
    expect(await s.db.selectFrom('contracts').select(['arr', 'status']).where('contract_id', '=', 'W-C-1').executeTakeFirst()).toEqual({ arr: 12000, status: 'active' });
  });

  it('reports bad items with their reasons and stores the good ones, like the batch API', async () => {
    const res = await deliver('analytics', analytics, {
      type: 'usage.events',
      data: [usage('w-mixed-1'), { ...usage('w-mixed-2'), quantity: -1 }, usage('w-mixed-3', 'nobody')],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Delivery;
    expect(body.summary).toMatchObject({ created: 1, error: 2 });
    expect(body.results![1]).toMatchObject({ index: 1, id: 'w-mixed-2', result: 'error', errors: [{ field: 'quantity' }] });
    expect(body.results![2]).toMatchObject({ index: 2, result: 'error', errors: [{ field: 'account', message: expect.stringContaining('nobody') }] });
  });

  it('createMissingAccounts: true creates placeholder accounts for unknown ids', async () => {
    const body = (await (
      await deliver('analytics', analytics, { type: 'usage.events', data: [usage('w-new-1', 'brand-new')], createMissingAccounts: true })
    ).json()) as Delivery;
    expect(body.results![0]).toMatchObject({ result: 'created' });
    expect(await s.db.selectFrom('accounts').select('external_id').where('external_id', '=', 'brand-new').executeTakeFirst()).toBeDefined();
  });

  it('ignores extra envelope fields such as timestamp', async () => {
    const res = await deliver('analytics', analytics, { type: 'usage.events', timestamp: new Date().toISOString(), data: [usage('w-extra-1')] });
    expect(res.status).toBe(200);
  });

  it('a redelivery of the same webhook-id answers duplicate and is stored once', async () => {
    const envelope = { type: 'usage.events', data: [usage('w-dup-1')] };
    const first = (await (await deliver('analytics', analytics, envelope, { id: 'msg_dup' })).json()) as Delivery;
    expect(first).toMatchObject({ duplicate: false, summary: { created: 1 } });
    const before = await count('usage_events');
    await compactUsage(s.db);
    const dailyBefore = await s.db.selectFrom('usage_daily').selectAll().execute();

    // A retry is signed again with a later timestamp; same id, same body.
    const retry = await deliver('analytics', analytics, envelope, { id: 'msg_dup', at: new Date(Date.now() + 5_000) });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ webhookId: 'msg_dup', duplicate: true });
    // Even with a different body (a misbehaving sender), nothing more is applied.
    const changed = await deliver('analytics', analytics, { type: 'usage.events', data: [usage('w-dup-2')] }, { id: 'msg_dup' });
    expect(await changed.json()).toEqual({ webhookId: 'msg_dup', duplicate: true });

    expect(await count('usage_events')).toBe(before);
    await compactUsage(s.db);
    expect(await s.db.selectFrom('usage_daily').selectAll().execute()).toEqual(dailyBefore);
    const logged = await s.db.selectFrom('inbound_webhook_messages').selectAll().where('webhook_id', '=', 'msg_dup').execute();
    expect(logged).toHaveLength(1);
    expect(logged[0]!.source).toBe('analytics');
  });

  it('the same webhook-id from two sources is two messages', async () => {
    const a = (await (await deliver('analytics', analytics, { type: 'usage.events', data: [usage('w-two-1')] }, { id: 'msg_shared' })).json()) as Delivery;
    const b = (await (await deliver('crm', crm, { type: 'usage.events', data: [usage('w-two-2')] }, { id: 'msg_shared' })).json()) as Delivery;
    expect([a.duplicate, b.duplicate]).toEqual([false, false]);
  });

  it('concurrent redeliveries of one webhook-id apply it once', async () => {
    const envelope = { type: 'usage.events', data: [usage('w-race-1'), usage('w-race-2')] };
    const bodies = (await Promise.all(
      Array.from({ length: 5 }, () => deliver('analytics', analytics, envelope, { id: 'msg_race' }).then((r) => r.json())),
    )) as Delivery[];
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    expect(bodies.filter((b) => b.duplicate)).toHaveLength(4);
  });
});

describe('secret rotation', () => {
  it('old and new secrets both verify during the overlap; the old one stops once expired', async () => {
    const oldSecret = await addSource('rotating');
    const rotated = await s.call('POST', '/v1/admin/webhook-sources/rotating/secrets', { body: {} });
    expect(rotated.status).toBe(201);
    const r = (await rotated.json()) as { secret: string; secretCount: number; oldSecretsExpireAt: string; secrets: { id: number; expiresAt: string | null }[] };
    expect(r.secret).toMatch(/^whsec_/);
    expect(r.secret).not.toBe(oldSecret);
    expect(r.secretCount).toBe(2);
    // The default overlap is 24 hours.
    const overlap = Date.parse(r.oldSecretsExpireAt) - Date.now();
    expect(overlap).toBeGreaterThan(23.9 * 3600_000);
    expect(overlap).toBeLessThan(24.1 * 3600_000);
    expect(r.secrets.map((x) => x.expiresAt)).toEqual([r.oldSecretsExpireAt, null]);

    const env = (id: string) => ({ type: 'usage.events', data: [usage(id)] });
    expect((await deliver('rotating', oldSecret, env('w-rot-1'))).status).toBe(200);
    expect((await deliver('rotating', r.secret, env('w-rot-2'))).status).toBe(200);
    // A sender mid-rotation may sign with both.
    expect((await deliver('rotating', [oldSecret, r.secret], env('w-rot-3'))).status).toBe(200);

    // 24 hours later…
    await s.db.updateTable('webhook_source_secrets').set({ expires_at: new Date(Date.now() - 1000) }).where('secret', '=', oldSecret).execute();
    expect((await deliver('rotating', oldSecret, env('w-rot-4'))).status).toBe(401);
    expect((await deliver('rotating', r.secret, env('w-rot-5'))).status).toBe(200);
    expect((await deliver('rotating', [oldSecret, r.secret], env('w-rot-6'))).status).toBe(200);
    expect(await s.db.selectFrom('usage_events').select('event_id').where('event_id', '=', 'w-rot-4').executeTakeFirst()).toBeUndefined();
    const listed = ((await (await s.call('GET', '/v1/admin/webhook-sources')).json()) as { items: { name: string; secretCount: number }[] }).items;
    expect(listed.find((i) => i.name === 'rotating')!.secretCount).toBe(1);
  });

  it('expiresInHours: 0 retires the older secrets at once', async () => {
    const first = await addSource('rotate-now');
    const second = ((await (await s.call('POST', '/v1/admin/webhook-sources/rotate-now/secrets', { body: { expiresInHours: 0 } })).json()) as { secret: string }).secret;
    expect((await deliver('rotate-now', first, { type: 'usage.events', data: [usage('w-now-1')] })).status).toBe(401);
    expect((await deliver('rotate-now', second, { type: 'usage.events', data: [usage('w-now-2')] })).status).toBe(200);
  });

  it('a later rotation never extends an earlier expiry', async () => {
    const first = await addSource('rotate-twice');
    await s.call('POST', '/v1/admin/webhook-sources/rotate-twice/secrets', { body: { expiresInHours: 1 } });
    await s.call('POST', '/v1/admin/webhook-sources/rotate-twice/secrets', { body: { expiresInHours: 48 } });
    const row = await s.db.selectFrom('webhook_source_secrets').select('expires_at').where('secret', '=', first).executeTakeFirstOrThrow();
    expect(row.expires_at!.getTime() - Date.now()).toBeLessThan(3600_000 + 60_000);
  });
});

describe('npm run cli -- webhooks', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hs-cli-webhooks-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runTs('src/cli/main.ts', args, { DATABASE_URL: '', DATA_DIR: dataDir });

  it('adds a source with a secret shown once, rotates it, and lists without secrets', async () => {
    const added = await cli('webhooks', 'add-source', 'helpdesk');
    expect(added.code, added.output).toBe(0);
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(added.output)![0];
    const again = await cli('webhooks', 'add-source', 'helpdesk');
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('already exists');
    expect(again.output).not.toContain('whsec_');

    const rotated = await cli('webhooks', 'rotate', 'helpdesk', '--expire-old-hours', '2');
    expect(rotated.code, rotated.output).toBe(0);
    const next = /whsec_[A-Za-z0-9+/=]+/.exec(rotated.output)![0];
    expect(next).not.toBe(secret);

    const listed = await cli('webhooks', 'list');
    expect(listed.code, listed.output).toBe(0);
    const row = listed.output.split('\n').find((l) => l.startsWith('helpdesk\t'))!;
    expect(row.split('\t')[1]).toBe('2');
    expect(listed.output).not.toContain('whsec_');

    const bad = await cli('webhooks', 'rotate', 'helpdesk', '--expire-old-hours', 'soon');
    expect(bad.code).toBe(2);
  });
});
