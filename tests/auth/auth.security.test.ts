import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearKeyCache } from '../../src/auth/middleware.js';
import { hashApiKey } from '../../src/auth/keys.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe('API keys', () => {
  it('a missing key gets 401', async () => {
    await expectProblem(await s.call('GET', '/v1/accounts', { key: null }), 401, 'unauthorized');
  });

  it('a malformed or unknown key gets 401', async () => {
    for (const key of ['nope', 'hs_short', `hs_${'A'.repeat(43)}`]) {
      await expectProblem(await s.call('GET', '/v1/accounts', { key }), 401, 'unauthorized');
    }
    const basic = await s.call('GET', '/v1/accounts', { key: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    await expectProblem(basic, 401, 'unauthorized');
  });

  it('a key without the route scope gets 403 on every guarded route', async () => {
    const readOnly = await s.keyWith('read');
    const ingestOnly = await s.keyWith('ingest');
    await expectProblem(await s.call('PUT', '/v1/accounts/x', { key: readOnly, body: { name: 'x' } }), 403, 'forbidden');
    await expectProblem(await s.call('POST', '/v1/accounts/batch', { key: readOnly, body: { items: [{ externalId: 'x', name: 'x' }] } }), 403, 'forbidden');
    await expectProblem(await s.call('DELETE', '/v1/accounts/x', { key: readOnly }), 403, 'forbidden');
    await expectProblem(await s.call('GET', '/v1/accounts', { key: ingestOnly }), 403, 'forbidden');
    await expectProblem(await s.call('GET', '/v1/admin/keys', { key: readOnly }), 403, 'forbidden');
    expect((await s.call('GET', '/v1/accounts', { key: readOnly })).status).toBe(200);
    expect((await s.call('GET', '/v1/accounts/x', { key: readOnly })).status).toBe(404);
  });

  it('every operation in the OpenAPI document except the probes and the signature-checked webhook inbox requires a scope', async () => {
    const doc = (await (await s.call('GET', '/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, { security: unknown[]; description?: string }>>;
    };
    const open = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).filter(([, op]) => op.security.length === 0).map(([method]) => `${method} ${path}`),
    );
    // Authenticated by its Standard Webhooks signature instead of an API key (tests/webhooks/inbound.security.test.ts).
    const signatureAuthenticated = ['post /v1/webhooks/inbound/{source}'];
    // The calendar feed's secret is the token in its URL (calendar apps send no headers).
    const tokenAuthenticated = ['get /v1/calendar/{file}'];
    expect(open.sort()).toEqual(['get /healthz', 'get /openapi.json', 'get /readyz', ...signatureAuthenticated, ...tokenAuthenticated].sort());
    expect(doc.paths['/v1/webhooks/inbound/{source}']!.post!.description).toMatch(/signature/i);
  });

  it('keys are stored only as hashes', async () => {
    const key = await s.keyWith('read');
    const rows = await s.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(rows.some((r) => r.key_hash === '' || r.key_hash.length !== 64)).toBe(false);
    expect(rows.map((r) => r.key_hash)).toContain(await hashApiKey(key));
  });

  it('a revoked key stops working', async () => {
    const created = (await (await s.call('POST', '/v1/admin/keys', { body: { name: 'crm', scopes: ['read'] } })).json()) as { id: number; key: string };
    expect((await s.call('GET', '/v1/accounts', { key: created.key })).status).toBe(200);
    expect((await s.call('DELETE', `/v1/admin/keys/${created.id}`)).status).toBe(204);
    clearKeyCache();
    await expectProblem(await s.call('GET', '/v1/accounts', { key: created.key }), 401, 'unauthorized');
    await expectProblem(await s.call('DELETE', `/v1/admin/keys/${created.id}`), 404, 'not_found');
  });

  it('the key listing never shows secrets', async () => {
    const created = (await (await s.call('POST', '/v1/admin/keys', { body: { name: 'listing', scopes: ['write', 'read'] } })).json()) as { key: string };
    const listing = await (await s.call('GET', '/v1/admin/keys')).text();
    expect(listing).not.toContain(created.key);
    expect(listing).toContain(created.key.slice(0, 9));
  });

  it('bad key requests are 400s', async () => {
    await expectProblem(await s.call('POST', '/v1/admin/keys', { body: { name: 'x', scopes: ['root'] } }), 400, 'validation_failed');
    await expectProblem(await s.call('POST', '/v1/admin/keys', { body: { name: '', scopes: [] } }), 400, 'validation_failed');
    await expectProblem(await s.call('DELETE', '/v1/admin/keys/abc'), 400, 'validation_failed');
  });
});
