import { afterAll, beforeAll, describe, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { accounts, followUp } from './fixtures.js';

/** The follow-ups API refuses what it must: bad filters and bodies, unknown ids, missing keys and scopes. */
let s: TestServer;
let readKey: string;
let writeKey: string;
let id: number;

beforeAll(async () => {
  s = await startTestServer();
  readKey = await s.keyWith('read');
  writeKey = await s.keyWith('write');
  const { acme } = (await accounts(s.db, [{ externalId: 'acme', name: 'Acme', timezone: 'Europe/Berlin' }])) as { acme: number };
  const dueAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
  id = await followUp(s.db, { accountId: acme, anchor: 'a', dueAt, assignee: 'dana@example.com', timezone: 'Europe/Berlin' });
});
afterAll(async () => s?.close());

describe('GET /v1/follow-ups', () => {
  it('rejects bad filters and foreign cursors with 400', async () => {
    await expectProblem(await s.call('GET', '/v1/follow-ups?status=open', { key: readKey }), 400, 'validation_failed');
    await expectProblem(await s.call('GET', '/v1/follow-ups?due_from=yesterday', { key: readKey }), 400, 'validation_failed');
    await expectProblem(await s.call('GET', '/v1/follow-ups?cursor=not-a-cursor', { key: readKey }), 400, 'validation_failed');
    await expectProblem(await s.call('GET', '/v1/follow-ups?limit=0', { key: readKey }), 400, 'validation_failed');
  });
});

describe('actions', () => {
  it('404 for an unknown follow-up, 400 for bad bodies', async () => {
    await expectProblem(await s.call('POST', '/v1/follow-ups/999999/complete', { key: writeKey, body: { outcome: 'resolved' } }), 404, 'not_found');
    await expectProblem(await s.call('GET', '/v1/follow-ups/999999', { key: readKey }), 404, 'not_found');
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/complete`, { key: writeKey, body: { outcome: 'great' } }), 400, 'validation_failed');
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/complete`, { key: writeKey, body: { outcome: 'resolved', extra: 1 } }), 400, 'validation_failed');
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/assign`, { key: writeKey, body: { assignee: 'not an email' } }), 400, 'validation_failed');
    await expectProblem(await s.call('POST', '/v1/follow-ups/abc/cancel', { key: writeKey, body: {} }), 400, 'validation_failed');
  });
});

describe('security', () => {
  it('needs a key: read to list, write to act, admin for team and playbooks', async () => {
    await expectProblem(await s.call('GET', '/v1/follow-ups', { key: null }), 401, 'unauthorized');
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/cancel`, { key: null, body: {} }), 401, 'unauthorized');
    await expectProblem(await s.call('POST', `/v1/follow-ups/${id}/cancel`, { key: readKey, body: {} }), 403, 'forbidden');
    await expectProblem(await s.call('GET', '/v1/admin/team', { key: writeKey }), 403, 'forbidden');
    await expectProblem(await s.call('PUT', '/v1/admin/team/a@example.com', { key: writeKey, body: { name: 'A' } }), 403, 'forbidden');
    await expectProblem(await s.call('POST', '/v1/admin/team/a@example.com/calendar-token', { key: writeKey }), 403, 'forbidden');
    await expectProblem(await s.call('GET', '/v1/admin/playbooks', { key: readKey }), 403, 'forbidden');
    await expectProblem(await s.call('POST', '/v1/admin/playbooks/1/activate', { key: writeKey }), 403, 'forbidden');
  });
});

describe('playbooks', () => {
  it('rejects invalid definitions and unknown versions', async () => {
    const bad = (definition: unknown, key = 'custom') => s.call('POST', '/v1/admin/playbooks', { body: { key, definition } });
    const base = { name: 'x', trigger: { type: 'nps_detractor' }, kind: 'call', title: 'x', assignee: ['owner'], due: { hours: 24 } };
    await expectProblem(await bad({ ...base, assignee: ['alert_assignee'] }), 400, 'validation_failed');
    await expectProblem(await bad({ ...base, kind: 'fax' }), 400, 'validation_failed');
    await expectProblem(await bad({ ...base, due: { weeks: 1 } }), 400, 'validation_failed');
    await expectProblem(await bad({ ...base, trigger: { type: 'periodic', every: 'month' } }), 400, 'validation_failed');
    await expectProblem(await bad(base, 'Not A Key'), 400, 'validation_failed');
    await expectProblem(await s.call('GET', '/v1/admin/playbooks/999999'), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/admin/playbooks/999999/activate'), 404, 'not_found');
  });
});
