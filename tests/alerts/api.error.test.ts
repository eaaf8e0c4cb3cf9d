import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepAlerts } from '../../src/alerts/evaluate.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { HEALTHY, daysFromNow, makeAccount, setScore } from './fixtures.js';

/** The alerts API refuses what it must: no key, a key without the scope, bad input, unknown ids; and changes nothing. */
let s: TestServer;
let readKey: string;
let writeKey: string;

type Page = { items: { id: number; status: string }[] };
const alertFor = async (account: string, rule: string) => {
  const res = await s.call('GET', `/v1/alerts?account=${account}&rule=${rule}`, { key: readKey });
  expect(res.status).toBe(200);
  return ((await res.json()) as Page).items[0]!;
};

beforeAll(async () => {
  s = await startTestServer();
  readKey = await s.keyWith('read');
  writeKey = await s.keyWith('write');
  const initech = await makeAccount(s.db, { externalId: 'initech' });
  await setScore(s.db, initech, 75, 'green', HEALTHY);
  await s.db
    .insertInto('contracts')
    .values({ account_id: initech, contract_id: 'I-1', start_date: daysFromNow(-300), end_date: daysFromNow(20), arr: 5, status: 'active', payment_status: 'overdue' })
    .execute();
  await sweepAlerts(s.db);
});
afterAll(() => s.close());

describe('security and errors', () => {
  it('needs a key, read for GETs and write for actions', async () => {
    const { id } = await alertFor('initech', 'payment_overdue_near_renewal');
    await expectProblem(await s.call('GET', '/v1/alerts', { key: null }), 401, 'unauthorized');
    await expectProblem(await s.call('POST', `/v1/alerts/${id}/acknowledge`, { key: readKey }), 403, 'forbidden');
    await expectProblem(await s.call('POST', '/v1/alert-rules', { key: writeKey, body: { definition: {} } }), 403, 'forbidden');
    await expectProblem(await s.call('POST', '/v1/alert-rules/1/activate', { key: writeKey }), 403, 'forbidden');
    await expectProblem(await s.call('PUT', '/v1/retention-pool/ann', { key: writeKey }), 403, 'forbidden');
    expect((await s.call('GET', `/v1/alerts/${id}`, { key: readKey })).status).toBe(200);
    expect((await s.call('GET', '/v1/alert-rules', { key: readKey })).status).toBe(200);
    // Nothing changed.
    expect((await alertFor('initech', 'payment_overdue_near_renewal')).status).toBe('open');
  });

  it('rejects bad input with field errors', async () => {
    const { id } = await alertFor('initech', 'payment_overdue_near_renewal');
    const fields = async (res: Response) => (await expectProblem(res, 400, 'validation_failed')).errors!.map((e) => e.field);
    expect(await fields(await s.call('GET', '/v1/alerts/abc', { key: readKey }))).toEqual(['params.id']);
    expect(await fields(await s.call('GET', '/v1/alerts?status=open,bogus', { key: readKey }))).toEqual(['query.status']);
    expect(await fields(await s.call('GET', '/v1/alerts?cursor=nonsense', { key: readKey }))).toEqual(['query.cursor']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/snooze`, { key: writeKey, body: { until: '2020-01-01T00:00:00Z' } }))).toEqual(['body.until']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/resolve`, { key: writeKey, body: { outcome: 'maybe' } }))).toEqual(['body.outcome']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/resolve`, { key: writeKey, body: { outcome: 'other' } }))).toEqual(['body.note']);
    expect(await fields(await s.call('POST', `/v1/alerts/${id}/assign`, { key: writeKey, body: { assignee: '' } }))).toEqual(['body.assignee']);
    await expectProblem(
      await s.call('POST', `/v1/alerts/${id}/assign`, { key: writeKey, body: 'assignee=x', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    expect((await alertFor('initech', 'payment_overdue_near_renewal')).status).toBe('open');
  });

  it('404 for an unknown alert or rule set', async () => {
    await expectProblem(await s.call('GET', '/v1/alerts/987654', { key: readKey }), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/alerts/987654/acknowledge', { key: writeKey }), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/alerts/987654/resolve', { key: writeKey, body: { outcome: 'saved' } }), 404, 'not_found');
    await expectProblem(await s.call('GET', '/v1/alert-rules/987654', { key: readKey }), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/alert-rules/987654/activate'), 404, 'not_found');
  });
});
