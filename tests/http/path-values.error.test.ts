import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * #24 items 2, 3 and 4: a path value is taken as sent or refused with a 400
 * naming it, never quietly changed; `.` and `..` (which URL parsing resolves
 * away) are answered for the operation they were sent to; a lone surrogate
 * in a JSON string is refused, never stored as U+FFFD.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

/** A request with its target sent byte for byte (fetch would resolve `.` and `..` before sending). */
const raw = (method: string, target: string, body?: string) =>
  new Promise<Response>((resolve, reject) => {
    const { hostname, port } = new URL(s.url);
    const req = httpRequest({ hostname, port, method, path: target, headers: { authorization: `Bearer ${s.adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode!, headers: res.headers as Record<string, string> })));
    });
    req.on('error', reject);
    req.end(body);
  });

const fields = (problem: { errors?: { field: string }[] }) => (problem.errors ?? []).map((e) => e.field);

describe('dot segments', () => {
  for (const method of ['GET', 'DELETE']) {
    for (const segment of ['.', '..', '%2E', '%2e%2E']) {
      it(`${method} /v1/accounts/${segment} is a 400 naming params.externalId, not 405 "use ${method}"`, async () => {
        const res = await raw(method, `/v1/accounts/${segment}`);
        const problem = await expectProblem(res, 400, 'validation_failed');
        expect(fields(problem)).toEqual(['params.externalId']);
        expect(res.headers.get('allow')).toBeNull();
      });
    }
  }

  it('a dot segment where no operation takes a parameter is a 404', async () => {
    await expectProblem(await raw('GET', '/v1/./accounts'), 404, 'not_found');
  });

  it('a method the operation lacks is a 405 whose Allow header does not list that method', async () => {
    const res = await raw('POST', '/v1/accounts/.');
    await expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).not.toMatch(/POST/);
  });

  it('a trailing slash after a path a method is allowed on is a 404, never "GET is not allowed here; use GET"', async () => {
    const res = await s.call('GET', '/v1/accounts/');
    const problem = await expectProblem(res, 404, 'not_found');
    expect(problem.detail).not.toMatch(/is not allowed here/);
  });

  it('the published externalId pattern refuses . and .. (they cannot name a resource in a URL)', async () => {
    const res = await s.call('POST', '/v1/accounts/batch', { body: { items: [{ externalId: '.', name: 'Dot' }, { externalId: 'dot-ok', name: 'Fine' }] } });
    const body = (await res.json()) as { results: { result: string }[] };
    expect(body.results.map((r) => r.result)).toEqual(['error', 'created']);
  });
});

describe('path values are refused, not changed', () => {
  it('PUT /v1/retention-pool/%0D1%C3%A8%7C (a CR first) is a 400 naming params.member, nothing stored', async () => {
    const res = await s.call('PUT', '/v1/retention-pool/%0D1%C3%A8%7C');
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(fields(problem)).toEqual(['params.member']);
    const pool = (await (await s.call('GET', '/v1/retention-pool')).json()) as { items: { member: string }[] };
    expect(pool.items.map((m) => m.member)).not.toContain('1è|');
  });

  it('a trailing tab on a pool member is refused too, and the clean value still works', async () => {
    await expectProblem(await s.call('PUT', '/v1/retention-pool/sam%09'), 400, 'validation_failed');
    expect((await s.call('PUT', '/v1/retention-pool/sam%40example.com')).status).toBe(201);
  });
});

describe('lone surrogates', () => {
  it('{"name":"bad \\ud800 name"} is a 400 naming body.name; nothing is stored', async () => {
    const res = await s.call('PUT', '/v1/accounts/surrogate-1', { body: '{"name":"bad \\ud800 name"}' });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(fields(problem)).toEqual(['body.name']);
    await expectProblem(await s.call('GET', '/v1/accounts/surrogate-1'), 404, 'not_found');
  });

  it('a lone low surrogate, and one in a field name, are refused too', async () => {
    await expectProblem(await s.call('PUT', '/v1/accounts/surrogate-2', { body: '{"name":"x\\udc00"}' }), 400, 'validation_failed');
    const res = await s.call('PUT', '/v1/accounts/surrogate-3', { body: '{"name":"ok","attributes":{"k\\ud83d":1}}' });
    expect(fields(await expectProblem(res, 400, 'validation_failed'))[0]).toMatch(/^body\.attributes\./);
  });

  it('a batch item with a lone surrogate is that item\'s error; the others are stored', async () => {
    const res = await s.call('POST', '/v1/accounts/batch', { body: '{"items":[{"externalId":"sur-a","name":"a \\ud800"},{"externalId":"sur-b","name":"fine"}]}' });
    const body = (await res.json()) as { results: { result: string }[] };
    expect(body.results.map((r) => r.result)).toEqual(['error', 'created']);
  });

  it('a proper pair (an emoji as \\ud83d\\ude00) is stored as that character', async () => {
    expect((await s.call('PUT', '/v1/accounts/surrogate-ok', { body: '{"name":"smile \\ud83d\\ude00"}' })).status).toBe(201);
    const account = (await (await s.call('GET', '/v1/accounts/surrogate-ok')).json()) as { name: string };
    expect(account.name).toBe('smile 😀');
  });
});
