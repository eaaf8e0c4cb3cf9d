import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const base = '/v1/webhooks/subscriptions';
const valid = { url: 'https://hooks.example.com/in', eventTypes: ['churn_risk.opened'] };

async function create(body: Record<string, unknown> = {}) {
  const res = await s.call('POST', base, { body: { ...valid, ...body } });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: number };
}

const fields = (problem: { errors?: { field: string }[] }) => problem.errors?.map((e) => e.field) ?? [];

describe('creating a subscription', () => {
  it('names the missing fields', async () => {
    const problem = await expectProblem(await s.call('POST', base, { body: {} }), 400, 'validation_failed');
    expect(fields(problem)).toEqual(expect.arrayContaining(['body.url', 'body.eventTypes']));
  });

  it.each([
    ['not a url', 'not a URL'],
    ['ftp://files.example.com/in', 'another scheme'],
    ['javascript:alert(1)', 'a script URL'],
    ['https://user:pass@hooks.example.com/in', 'credentials in the URL'],
    ['https://hooks.example.com/in#frag', 'a fragment'],
    [`https://hooks.example.com/${'a'.repeat(2100)}`, 'too long'],
    ['/relative/path', 'a relative URL'],
  ])('refuses %s (%s)', async (url) => {
    const problem = await expectProblem(await s.call('POST', base, { body: { ...valid, url } }), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['body.url']);
  });

  it('refuses unknown or no event types, unknown formats and unknown fields', async () => {
    let problem = await expectProblem(await s.call('POST', base, { body: { ...valid, eventTypes: [] } }), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['body.eventTypes']);
    problem = await expectProblem(
      await s.call('POST', base, { body: { ...valid, eventTypes: ['churn_risk.opened', 'account.deleted'] } }),
      400,
      'validation_failed',
    );
    expect(fields(problem)).toEqual(['body.eventTypes.1']);
    problem = await expectProblem(await s.call('POST', base, { body: { ...valid, format: 'xml' } }), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['body.format']);
    problem = await expectProblem(await s.call('POST', base, { body: { ...valid, secret: 'whsec_mine' } }), 400, 'validation_failed');
    expect(problem.errors?.[0]?.message).toMatch(/secret/);
    problem = await expectProblem(await s.call('POST', base, { body: { ...valid, ownerContact: 'x'.repeat(501) } }), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['body.ownerContact']);
  });

  it('wants JSON', async () => {
    await expectProblem(
      await s.call('POST', base, { body: 'url=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415,
      'unsupported_media_type',
    );
    await expectProblem(await s.call('POST', base, { body: '{"url":', headers: { 'content-type': 'application/json' } }), 400, 'malformed_request');
  });

  it('removes repeated event types', async () => {
    const res = await s.call('POST', base, { body: { ...valid, eventTypes: ['follow_up.due', 'follow_up.due'] } });
    expect(((await res.json()) as { eventTypes: string[] }).eventTypes).toEqual(['follow_up.due']);
  });
});

describe('reading, changing and deleting', () => {
  it('404 for unknown ids, 400 for ids that are not ids', async () => {
    await expectProblem(await s.call('GET', `${base}/999999`), 404, 'not_found');
    await expectProblem(await s.call('PATCH', `${base}/999999`, { body: { active: false } }), 404, 'not_found');
    await expectProblem(await s.call('DELETE', `${base}/999999`), 404, 'not_found');
    await expectProblem(await s.call('GET', `${base}/999999/deliveries`), 404, 'not_found');
    await expectProblem(await s.call('POST', `${base}/999999/test`), 404, 'not_found');
    await expectProblem(await s.call('POST', `${base}/999999/secret`, { body: {} }), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/webhooks/deliveries/999999/replay'), 404, 'not_found');
    const problem = await expectProblem(await s.call('GET', `${base}/abc`), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['params.id']);
    await expectProblem(await s.call('GET', `${base}/-1`), 400, 'validation_failed');
  });

  it('a PATCH must change something, and only known fields', async () => {
    const { id } = await create();
    await expectProblem(await s.call('PATCH', `${base}/${id}`, { body: {} }), 400, 'validation_failed');
    await expectProblem(await s.call('PATCH', `${base}/${id}`, { body: { enabled: true } }), 400, 'validation_failed');
    const problem = await expectProblem(await s.call('PATCH', `${base}/${id}`, { body: { url: 'gopher://x' } }), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['body.url']);
    const res = await s.call('PATCH', `${base}/${id}`, {
      body: { url: 'http://hooks.example.com/v2', eventTypes: ['follow_up.overdue'], ownerContact: 'ops@example.com' },
    });
    expect(await res.json()).toMatchObject({ id, url: 'http://hooks.example.com/v2', eventTypes: ['follow_up.overdue'], ownerContact: 'ops@example.com' });
    // An empty string clears a text field.
    expect(await (await s.call('PATCH', `${base}/${id}`, { body: { ownerContact: '' } })).json()).toMatchObject({ ownerContact: null });
  });

  it('deleting takes the deliveries with it', async () => {
    const { id } = await create({ eventTypes: ['follow_up.created'] });
    const { deliveryIds } = await enqueueEvent(s.db, { type: 'follow_up.created', payload: {} });
    expect(deliveryIds).toHaveLength(1);
    expect((await s.call('DELETE', `${base}/${id}`)).status).toBe(204);
    await expectProblem(await s.call('GET', `${base}/${id}`), 404, 'not_found');
    await expectProblem(await s.call('POST', `/v1/webhooks/deliveries/${deliveryIds[0]}/replay`), 404, 'not_found');
  });

  it('405 with Allow for a wrong method', async () => {
    const res = await s.call('PUT', base, { body: valid });
    await expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toBe('POST, GET');
  });
});

describe('the delivery log, replay and test', () => {
  it('refuses a cursor it did not issue and limits out of range', async () => {
    const { id } = await create();
    let problem = await expectProblem(await s.call('GET', `${base}/${id}/deliveries?cursor=garbage`), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['query.cursor']);
    problem = await expectProblem(await s.call('GET', `${base}/${id}/deliveries?limit=0`), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['query.limit']);
    problem = await expectProblem(await s.call('GET', `${base}/${id}/deliveries?status=lost`), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['query.status']);
  });

  it('409 for replaying a delivery still pending, or one of an inactive subscription', async () => {
    const { id } = await create({ eventTypes: ['health.band_changed'] });
    const { deliveryIds } = await enqueueEvent(s.db, { type: 'health.band_changed', payload: {} });
    expect(deliveryIds).toHaveLength(1);
    await expectProblem(await s.call('POST', `/v1/webhooks/deliveries/${deliveryIds[0]}/replay`), 409, 'conflict');
    // Finish it, then pause the subscription.
    await s.db.updateTable('webhook_deliveries').set({ status: 'failed', next_attempt_at: null }).where('id', '=', deliveryIds[0]!).execute();
    await s.call('PATCH', `${base}/${id}`, { body: { active: false } });
    const problem = await expectProblem(await s.call('POST', `/v1/webhooks/deliveries/${deliveryIds[0]}/replay`), 409, 'conflict');
    expect(problem.detail).toMatch(/not active/);
    await expectProblem(await s.call('POST', `${base}/${id}/test`), 409, 'conflict');
    await s.call('PATCH', `${base}/${id}`, { body: { active: true } });
    expect((await s.call('POST', `/v1/webhooks/deliveries/${deliveryIds[0]}/replay`)).status).toBe(202);
    // The replay is pending now: a second replay waits for it.
    await expectProblem(await s.call('POST', `/v1/webhooks/deliveries/${deliveryIds[0]}/replay`), 409, 'conflict');
  });

  it('refuses a rotation overlap out of range', async () => {
    const { id } = await create();
    const problem = await expectProblem(await s.call('POST', `${base}/${id}/secret`, { body: { overlapHours: -1 } }), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['body.overlapHours']);
  });
});
