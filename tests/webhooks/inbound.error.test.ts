import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let secret: string;
beforeAll(async () => {
  s = await startTestServer();
  await s.call('PUT', '/v1/accounts/acme', { body: { name: 'Acme' } });
  secret = ((await (await s.call('PUT', '/v1/admin/webhook-sources/helpdesk')).json()) as { secret: string }).secret;
});
afterAll(() => s.close());

let seq = 0;
const newId = () => `msg_err_${Date.now().toString(36)}_${++seq}`;

/** A correctly signed delivery of whatever text is given. */
function deliver(payload: string, { id = newId(), headers = {} }: { id?: string; headers?: Record<string, string> } = {}) {
  const at = new Date();
  return s.call('POST', '/v1/webhooks/inbound/helpdesk', {
    key: null,
    body: payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, payload),
      ...headers,
    },
  });
}

const ticket = (ticketId: string, extra: Record<string, unknown> = {}) => ({
  ticketId,
  account: 'acme',
  status: 'open',
  priority: 'normal',
  openedAt: '2026-01-04T09:00:00Z',
  updatedAt: '2026-01-04T10:00:00Z',
  ...extra,
});

const recorded = async (webhookId: string) =>
  (await s.db.selectFrom('inbound_webhook_messages').select('webhook_id').where('webhook_id', '=', webhookId).executeTakeFirst()) !== undefined;
const ticketCount = async () => (await s.db.selectFrom('tickets').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

describe('invalid envelopes with a valid signature are 400s', () => {
  it('malformed JSON', async () => {
    const id = newId();
    const problem = await expectProblem(await deliver('{"type": "tickets.upserted", "data": [', { id }), 400, 'malformed_request');
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'body', message: 'is not valid JSON' })]);
    expect(await recorded(id)).toBe(false);
  });

  it('an empty body', async () => {
    const problem = await expectProblem(await deliver(''), 400, 'malformed_request');
    expect(problem.errors![0]!.field).toBe('body');
  });

  it('an unknown type', async () => {
    const id = newId();
    const problem = await expectProblem(await deliver(JSON.stringify({ type: 'tickets.deleted', data: [ticket('E-1')] }), { id }), 400, 'validation_failed');
    expect(problem.errors!.map((e) => e.field)).toEqual(['body.type']);
    expect(await recorded(id)).toBe(false);
  });

  it('a missing or non-array data, or no type at all', async () => {
    const cases: [unknown, string[]][] = [
      [{ type: 'tickets.upserted' }, ['body.data']],
      [{ type: 'tickets.upserted', data: ticket('E-2') }, ['body.data']],
      [{ type: 'tickets.upserted', data: [] }, ['body.data']],
      [{ data: [ticket('E-3')] }, ['body.type']],
      [{ type: 'tickets.upserted', data: [ticket('E-4')], createMissingAccounts: 'yes' }, ['body.createMissingAccounts']],
    ];
    for (const [body, fields] of cases) {
      const problem = await expectProblem(await deliver(JSON.stringify(body)), 400, 'validation_failed');
      expect(problem.errors!.map((e) => e.field), JSON.stringify(body)).toEqual(fields);
    }
  });

  it('JSON that is not an object', async () => {
    for (const payload of ['null', '42', '"tickets.upserted"', '[{"type":"tickets.upserted","data":[]}]']) {
      const problem = await expectProblem(await deliver(payload), 400, 'validation_failed');
      expect(problem.errors!.length, payload).toBeGreaterThan(0);
    }
  });

  it('more than 5,000 items', async () => {
    const data = Array.from({ length: 5001 }, (_, i) => ticket(`E-many-${i}`));
    const problem = await expectProblem(await deliver(JSON.stringify({ type: 'tickets.upserted', data })), 400, 'validation_failed');
    expect(problem.errors!.map((e) => e.field)).toEqual(['body.data']);
    expect(await ticketCount()).toBe(0);
  });

  it('an over-long webhook-id', async () => {
    const problem = await expectProblem(await deliver(JSON.stringify({ type: 'tickets.upserted', data: [ticket('E-5')] }), { id: 'm'.repeat(256) }), 400, 'validation_failed');
    expect(problem.errors!.map((e) => e.field)).toEqual(['headers.webhook-id']);
  });

  it('a rejected delivery is not recorded, so the corrected retry is applied', async () => {
    const id = newId();
    await expectProblem(await deliver(JSON.stringify({ type: 'ticket.upserted', data: [ticket('E-6')] }), { id }), 400, 'validation_failed');
    const fixed = await deliver(JSON.stringify({ type: 'tickets.upserted', data: [ticket('E-6')] }), { id });
    expect(fixed.status).toBe(200);
    expect(await fixed.json()).toMatchObject({ webhookId: id, duplicate: false, summary: { created: 1 } });
  });
});

describe('bad items inside a valid envelope', () => {
  it('are reported per item with a 200, never a 5xx', async () => {
    const data = [
      ticket('E-ok'),
      ticket('E-bad-status', { status: 'exploded' }),
      { ...ticket('E-nul'), subject: 'a\u0000b' },
      ticket('E-unknown-account', { account: 'who' }),
      'not an object',
      null,
      ticket('E-ok'),
    ];
    const res = await deliver(JSON.stringify({ type: 'tickets.upserted', data }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { summary: Record<string, number>; results: { index: number; id: string | null; result: string; errors?: { field: string }[] }[] };
    expect(body.summary).toMatchObject({ created: 1, error: 6 });
    expect(body.results.map((r) => r.result)).toEqual(['created', 'error', 'error', 'error', 'error', 'error', 'error']);
    expect(body.results[1]).toMatchObject({ id: 'E-bad-status', errors: [{ field: 'status' }] });
    expect(body.results[3]).toMatchObject({ id: 'E-unknown-account', errors: [{ field: 'account' }] });
    expect(body.results[4]).toMatchObject({ id: null });
  });

  it('a delivery whose items all fail still counts as processed', async () => {
    const id = newId();
    const payload = JSON.stringify({ type: 'tickets.upserted', data: [ticket('E-all-bad', { priority: 'meh' })] });
    expect((await deliver(payload, { id })).status).toBe(200);
    expect(await (await deliver(payload, { id })).json()).toEqual({ webhookId: id, duplicate: true });
  });
});

describe('the route itself', () => {
  it('other methods are 405 with Allow', async () => {
    const res = await s.call('GET', '/v1/webhooks/inbound/helpdesk', { key: null });
    await expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('a body beyond the size limit is 413, not a 5xx', async () => {
    const small = await startTestServer({ bodyLimitBytes: 1024 });
    try {
      const smallSecret = ((await (await small.call('PUT', '/v1/admin/webhook-sources/tiny')).json()) as { secret: string }).secret;
      const payload = JSON.stringify({ type: 'tickets.upserted', data: Array.from({ length: 50 }, (_, i) => ticket(`big-${i}`)) });
      const id = newId();
      const at = new Date();
      const res = await small.call('POST', '/v1/webhooks/inbound/tiny', {
        key: null,
        body: payload,
        headers: {
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new Webhook(smallSecret).sign(id, at, payload),
        },
      });
      await expectProblem(res, 413, 'payload_too_large');
    } finally {
      await small.close();
    }
  });
});

describe('webhook source administration errors', () => {
  it('source names must match the allowed pattern', async () => {
    for (const name of ['Upper', '-leading', 'has.dot', 'x'.repeat(64), 'sp%20ace']) {
      const problem = await expectProblem(await s.call('PUT', `/v1/admin/webhook-sources/${name}`), 400, 'validation_failed');
      expect(problem.errors![0]!.field).toBe('params.source');
    }
  });

  it('rotating or deleting an unknown source is 404', async () => {
    await expectProblem(await s.call('POST', '/v1/admin/webhook-sources/nope/secrets', { body: {} }), 404, 'not_found');
    await expectProblem(await s.call('DELETE', '/v1/admin/webhook-sources/nope'), 404, 'not_found');
  });

  it('expiresInHours must be a number from 0 to 8760', async () => {
    for (const expiresInHours of [-1, 9000, '24', null]) {
      const problem = await expectProblem(
        await s.call('POST', '/v1/admin/webhook-sources/helpdesk/secrets', { body: { expiresInHours } }),
        400,
        'validation_failed',
      );
      expect(problem.errors![0]!.field).toBe('body.expiresInHours');
    }
  });

  it('rotating without a JSON body is refused without side effects', async () => {
    const before = await s.db.selectFrom('webhook_source_secrets').select('id').where('source', '=', 'helpdesk').execute();
    await expectProblem(await s.call('POST', '/v1/admin/webhook-sources/helpdesk/secrets'), 415, 'unsupported_media_type');
    await expectProblem(await s.call('POST', '/v1/admin/webhook-sources/helpdesk/secrets', { body: '{' }), 400, 'malformed_request');
    const after = await s.db.selectFrom('webhook_source_secrets').select('id').where('source', '=', 'helpdesk').execute();
    expect(after).toEqual(before);
  });
});
