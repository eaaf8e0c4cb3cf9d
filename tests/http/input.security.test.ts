import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Defects 1, 2 and 6 of #12: what a client sends is refused at the edge with a 400/415 naming it, never a 5xx. */

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
};
/** Deep nesting as text: JSON.stringify itself recurses. */
const nestedText = (depth: number) => `${'{"k":'.repeat(depth)}"leaf"${'}'.repeat(depth)}`;

const fields = (problem: { errors?: { field: string }[] }) => (problem.errors ?? []).map((e) => e.field);

describe('nesting depth is limited at the edge', () => {
  it('a batch with a valid item and one nested 10,000 deep is a 400 naming the field, not a 500', async () => {
    const body = `{"items":[{"externalId":"ok-1","name":"Fine"},{"externalId":"deep-1","name":"Deep","attributes":${nestedText(10_000)}}]}`;
    const res = await s.call('POST', '/v1/accounts/batch', { body });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(fields(problem)[0]).toMatch(/^body\.items\.1\.attributes\.k/);
  });

  it('PUT with attributes nested 10,000 deep is a 400', async () => {
    const res = await s.call('PUT', '/v1/accounts/deep-2', { body: `{"name":"Deep","attributes":${nestedText(10_000)}}` });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(fields(problem)[0]).toMatch(/^body\.attributes\.k/);
  });

  it('1,000-deep nesting is refused too (it breaks ordinary JSON clients reading it back)', async () => {
    const res = await s.call('PUT', '/v1/accounts/deep-3', { body: `{"name":"Deep","attributes":${nestedText(1_000)}}` });
    await expectProblem(res, 400, 'validation_failed');
    expect((await s.call('GET', '/v1/accounts/deep-3')).status).toBe(404);
  });

  it('nesting within the limit is stored and read back', async () => {
    const res = await s.call('PUT', '/v1/accounts/deep-ok', { body: { name: 'Fine', attributes: { a: nested(20) } } });
    expect(res.status).toBe(201);
  });

  it('inbound webhook bodies get the same limit (checked after the signature)', async () => {
    // Without a source the signature fails first: the point is no 5xx.
    const res = await s.call('POST', '/v1/webhooks/inbound/nobody', { key: null, body: `{"type":"usage.events","data":[${nestedText(10_000)}]}` });
    expect(res.status).toBeLessThan(500);
  });
});

describe('NUL characters are refused for every string, in one place', () => {
  const shapes: [string, string, unknown?][] = [
    ['GET', '/v1/accounts?segment=a%00b'],
    ['GET', '/v1/accounts?owner=%00'],
    ['GET', '/v1/accounts?tier=x%00'],
    ['GET', '/v1/accounts/a%00b'],
    ['PUT', '/v1/accounts/a%00b', { name: 'x' }],
    ['GET', '/v1/follow-ups?assignee=a%00@example.com'],
    ['GET', '/v1/admin/team/a%00@example.com'],
    ['PUT', '/v1/admin/team/a%00@example.com', { name: 'A' }],
    ['POST', '/v1/admin/keys', { name: 'k\u0000', scopes: ['read'] }],
    ['GET', '/v1/admin/playbooks?key=a%00'],
    ['POST', '/v1/admin/playbooks', { key: 'p\u0000', name: 'x' }],
    ['POST', '/v1/alert-rules', { definition: { rules: [{ key: 'r\u0000' }] } }],
    ['GET', '/v1/alerts?account=a%00'],
  ];
  for (const [method, path, body] of shapes) {
    it(`${method} ${path}${body ? ' with a NUL in the body' : ''}`, async () => {
      const res = await s.call(method, path, { body });
      const problem = await expectProblem(res, 400, 'validation_failed');
      expect(problem.errors!.length).toBeGreaterThan(0);
    });
  }
});

describe('NUL characters in batch items are that item\'s error; the others are stored', () => {
  it('accounts', async () => {
    const res = await s.call('POST', '/v1/accounts/batch', {
      body: { items: [{ externalId: 'n1', name: 'ok', attributes: { 'k\u0000': 1 } }, { externalId: 'n2', name: 'a\u0000' }, { externalId: 'n3', name: 'ok' }] },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { result: string; errors?: { field: string }[] }[] };
    expect(body.results.map((r) => r.result)).toEqual(['error', 'error', 'created']);
    expect(body.results[0]!.errors![0]!.field).toMatch(/^attributes\.k/);
    expect(body.results[1]!.errors![0]!.field).toBe('name');
  });
});

describe('unknown input is refused, not ignored', () => {
  it('an unknown body field, with a hint for its camelCase twin', async () => {
    const res = await s.call('PUT', '/v1/accounts/u-1', { body: { name: 'U', retention_owner: 'x@example.com' } });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'body.retention_owner', message: expect.stringContaining('retentionOwner') })]);
  });

  it('a batch item with external_id is reported as such, not as a missing externalId only', async () => {
    const res = await s.call('POST', '/v1/accounts/batch', { body: { items: [{ external_id: 'u-2', name: 'U' }, { externalId: 'u-3', name: 'U' }] } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { result: string; errors?: { field: string; message: string }[] }[] };
    expect(body.results[0]!.result).toBe('error');
    expect(body.results[0]!.errors).toContainEqual({ field: 'external_id', message: expect.stringContaining('externalId') });
    expect(body.results[1]!.result).toBe('created');
  });

  it('a signal batch item with a snake_case field names it', async () => {
    await s.call('PUT', '/v1/accounts/u-4', { body: { name: 'U' } });
    const res = await s.call('POST', '/v1/usage/batch', {
      body: { items: [{ eventId: 'e1', account: 'u-4', event: 'login', occurred_at: new Date().toISOString() }] },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { errors?: { field: string; message: string }[] }[] };
    expect(body.results[0]!.errors).toContainEqual({ field: 'occurred_at', message: expect.stringContaining('occurredAt') });
  });

  it('an unknown query parameter, with a hint for its snake_case twin', async () => {
    const problem = await expectProblem(await s.call('GET', '/v1/health?colour=red'), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['query.colour']);
    const twin = await expectProblem(await s.call('GET', '/v1/accounts?updatedSince=2026-01-01T00:00:00Z'), 400, 'validation_failed');
    expect(twin.errors).toEqual([expect.objectContaining({ field: 'query.updatedSince', message: expect.stringContaining('updated_since') })]);
  });

  it('a query parameter on an operation that takes none', async () => {
    const problem = await expectProblem(await s.call('GET', '/v1/admin/keys?limit=5'), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['query.limit']);
  });

  it('a body that is not valid UTF-8 is refused, not stored as U+FFFD', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const status = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const url = new URL(`${s.url}/v1/accounts/utf-1`);
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json', 'content-length': bytes.length } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
        },
      );
      req.on('error', reject);
      req.end(bytes);
    });
    expect(status.status).toBe(400);
    expect(status.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(status.body)).toMatchObject({ code: 'malformed_request', errors: [{ field: 'body' }] });
    expect((await s.call('GET', '/v1/accounts/utf-1')).status).toBe(404);
  });

  it('a query string that is not valid UTF-8', async () => {
    const problem = await expectProblem(await s.call('GET', '/v1/accounts?owner=%FF'), 400, 'validation_failed');
    expect(fields(problem)).toEqual(['query.owner']);
  });

  it('application/merge-patch+json is 415, not treated as a replace', async () => {
    const res = await s.call('PUT', '/v1/accounts/mp-1', { body: { name: 'M' }, headers: { 'content-type': 'application/merge-patch+json' } });
    const problem = await expectProblem(res, 415, 'unsupported_media_type');
    expect(problem.detail).toContain('merge-patch');
    const patch = await s.call('PATCH', '/v1/webhooks/subscriptions/1', { body: { enabled: false }, headers: { 'content-type': 'application/merge-patch+json' } });
    await expectProblem(patch, 415, 'unsupported_media_type');
  });
});
