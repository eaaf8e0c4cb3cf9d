import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ bodyLimitBytes: 64 * 1024 });
});
afterAll(() => s.close());

describe('bad input gets a clear 4xx problem, never a 5xx', () => {
  it('malformed JSON', async () => {
    const res = await s.call('PUT', '/v1/accounts/a1', { body: '{"name": "x",' });
    await expectProblem(res, 400, 'malformed_request');
  });

  it('a body that is not JSON', async () => {
    const res = await s.call('PUT', '/v1/accounts/a1', { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    await expectProblem(res, 415, 'unsupported_media_type');
  });

  it('wrong types name each field', async () => {
    const res = await s.call('PUT', '/v1/accounts/a1', {
      body: { name: 42, seats: 'ten', arr: -1, currency: 'euro', timezone: 'Mars/Base', renewalDate: '2027-13-45', attributes: [] },
    });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors!.map((e) => e.field).sort()).toEqual(
      ['body.arr', 'body.attributes', 'body.currency', 'body.name', 'body.renewalDate', 'body.seats', 'body.timezone'].sort(),
    );
  });

  it('NUL characters, which PostgreSQL cannot store', async () => {
    const res = await s.call('PUT', '/v1/accounts/a1', { body: { name: 'a\u0000b', attributes: { k: 'x\u0000' } } });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors!.map((e) => e.field).sort()).toEqual(['body.attributes.k', 'body.name']);
  });

  it('an unknown account', async () => {
    await expectProblem(await s.call('GET', '/v1/accounts/nobody'), 404, 'not_found');
    await expectProblem(await s.call('DELETE', '/v1/accounts/nobody'), 404, 'not_found');
  });

  it('an oversized body', async () => {
    const res = await s.call('POST', '/v1/accounts/batch', { body: { items: [{ externalId: 'big', name: 'x'.repeat(100 * 1024) }] } });
    await expectProblem(res, 413, 'payload_too_large');
  });

  it('an oversized body sent without Content-Length (chunked)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${s.url}/v1/accounts/batch`, {
      method: 'POST',
      body: stream,
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    await expectProblem(res, 413, 'payload_too_large');
  });

  it('a bad cursor', async () => {
    for (const cursor of ['garbage', 'WzEsMiwzXQ', 'WyJhIiwxXQ', encodeURIComponent('{}')]) {
      const problem = await expectProblem(await s.call('GET', `/v1/accounts?cursor=${cursor}`), 400, 'validation_failed');
      expect(problem.errors![0]!.field).toBe('query.cursor');
    }
  });

  it('bad query parameters', async () => {
    for (const query of ['limit=0', 'limit=5000', 'limit=abc', 'updated_since=yesterday', 'include_archived=maybe']) {
      await expectProblem(await s.call('GET', `/v1/accounts?${query}`), 400, 'validation_failed');
    }
  });

  it('a batch that is not a list of 1 to 1,000 items', async () => {
    for (const body of [{}, { items: [] }, { items: 'x' }, { items: Array.from({ length: 1001 }, (_, i) => ({ externalId: `${i}`, name: 'n' })) }]) {
      await expectProblem(await s.call('POST', '/v1/accounts/batch', { body }), 400, 'validation_failed');
    }
  });

  it('an external id with a slash or too long', async () => {
    await expectProblem(await s.call('PUT', `/v1/accounts/${'x'.repeat(201)}`, { body: { name: 'n' } }), 400, 'validation_failed');
    await expectProblem(await s.call('PUT', '/v1/accounts/a%2Fb', { body: { name: 'n' } }), 400, 'validation_failed');
  });

  it('nothing of a rejected request was stored', async () => {
    expect((await s.call('GET', '/v1/accounts/a1')).status).toBe(404);
    expect((await s.call('GET', '/v1/accounts/big')).status).toBe(404);
  });
});
