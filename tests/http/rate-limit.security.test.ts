import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract } from '../support/contract.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** #12: rate limits per API key, with RateLimit headers and 429 + Retry-After. */

let s: TestServer;
let contract: Contract;
beforeAll(async () => {
  s = await startTestServer({ rateLimitPerMinute: 5 });
  contract = await Contract.fetch(s.url);
});
afterAll(() => s.close());

describe('per API key', () => {
  it('counts down in RateLimit headers, then answers 429 problem+json with Retry-After, as declared', async () => {
    const key = await s.keyWith('read');
    for (let i = 1; i <= 5; i++) {
      const res = await s.call('GET', '/v1/accounts', { key });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('5;w=60');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^limit=5, remaining=${5 - i}, reset=\\d+$`));
    }
    const limited = await s.call('GET', '/v1/accounts', { key });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/^limit=5, remaining=0, reset=\d+$/);
    const operation = contract.operations().find((o) => o.operation.operationId === 'listAccounts')!.operation;
    await contract.expectConforms(operation, limited);
    const problem = await expectProblem(limited, 429, 'rate_limited');
    expect(problem.detail).toMatch(/more than 5 requests in a minute/);
  });

  it('another key has its own budget; requests without a valid key are not counted against one', async () => {
    const other = await s.keyWith('read');
    await expectProblem(await s.call('GET', '/v1/accounts', { key: null }), 401, 'unauthorized');
    const res = await s.call('GET', '/v1/accounts', { key: other });
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit')).toMatch(/remaining=4/);
  });

  it('public probes are not limited', async () => {
    for (let i = 0; i < 8; i++) expect((await s.call('GET', '/healthz', { key: null })).status).toBe(200);
  });
});
