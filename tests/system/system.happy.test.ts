import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe('probes, API description and error shape', () => {
  it('/healthz and /readyz answer without a key', async () => {
    expect(await (await s.call('GET', '/healthz', { key: null })).json()).toEqual({ status: 'ok' });
    expect(await (await s.call('GET', '/readyz', { key: null })).json()).toMatchObject({ status: 'ready', migrations: 'current' });
  });

  it('/readyz is 503 while a migration is pending', async () => {
    await s.db.deleteFrom('kysely_migration' as never).execute();
    try {
      await expectProblem(await s.call('GET', '/readyz', { key: null }), 503, 'unavailable');
    } finally {
      await s.db
        .insertInto('kysely_migration' as never)
        .values({ name: '0001_foundation', timestamp: new Date().toISOString() } as never)
        .execute();
    }
  });

  it('/openapi.json is OpenAPI 3.1 generated from the route schemas', async () => {
    const doc = (await (await s.call('GET', '/openapi.json', { key: null })).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string }[] }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/accounts', '/v1/accounts/{externalId}', '/v1/accounts/batch']));
    expect(doc.paths['/v1/accounts/{externalId}']!.put!.requestBody).toBeDefined();
    expect(doc.paths['/v1/accounts']!.get!.parameters!.map((p) => p.name)).toEqual(
      expect.arrayContaining(['segment', 'owner', 'tier', 'updated_since', 'cursor', 'limit']),
    );
  });

  it('/docs is served with its assets from the package, no CDN', async () => {
    const html = await (await s.call('GET', '/docs', { key: null })).text();
    expect(html).toContain('/docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await s.call('GET', '/docs/swagger-ui-bundle.js', { key: null });
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await s.call('GET', '/docs/swagger-ui.css', { key: null })).status).toBe(200);
  });

  it('unknown routes are 404 and wrong methods 405 with Allow, both problem+json', async () => {
    await expectProblem(await s.call('GET', '/v1/nothing-here'), 404, 'not_found');
    const res = await s.call('PATCH', '/v1/accounts/x', { body: {} });
    expect(res.headers.get('allow')).toBe('PUT, GET, DELETE');
    await expectProblem(res, 405, 'method_not_allowed');
  });

  it('echoes a caller request id and makes one otherwise', async () => {
    const echoed = await s.call('GET', '/v1/nothing', { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-abc-123');
    expect(((await echoed.json()) as { requestId: string }).requestId).toBe('trace-abc-123');
    const made = await s.call('GET', '/healthz');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
