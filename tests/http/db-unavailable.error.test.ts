import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { isDatabaseUnavailable } from '../../src/db/errors.js';
import { serveNode } from '../../src/http/node-server.js';
import { createLogger } from '../../src/logger.js';
import { expectProblem } from '../support/problem.js';
import { freePort } from '../support/process.js';

/**
 * #12: while PostgreSQL is unreachable (restarting, down), clients get 503
 * with Retry-After, never a 500; /readyz says so. Here the database is a port
 * nothing listens on; tests/db/pg-restart.error.test.ts restarts a real one.
 */
let url: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const dead = await freePort();
  const database = createPostgresDb({ url: `postgres://postgres@127.0.0.1:${dead}/none`, max: 1 });
  const app = createApp({ database: () => database.db, logger: createLogger('silent') });
  const server = serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
  };
});
afterAll(() => close());

describe('the database is unreachable', () => {
  it('an API request gets 503 problem+json with Retry-After', async () => {
    const res = await fetch(`${url}/v1/accounts`, { headers: { authorization: 'Bearer hs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' } });
    expect(res.headers.get('retry-after')).toBe('2');
    await expectProblem(res, 503, 'unavailable');
  });

  it('/readyz is 503', async () => {
    await expectProblem(await fetch(`${url}/readyz`), 503, 'unavailable');
  });

  it('recognises what postgres.js and PostgreSQL say during a restart', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
  });
});
