import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { expectProblem } from '../support/problem.js';

/**
 * Errors nobody anticipated: the app's onError turns them into problem+json
 * without internals. Extra routes on a real app throw real errors.
 */
let t: TestDatabase;
let url: string;
let close: (() => Promise<void>) | undefined;
const logged: { level: string; msg: string; fields: Record<string, unknown> }[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  const base = createLogger('silent');
  const logger: Logger = {
    ...base,
    error: (msg, fields = {}) => void logged.push({ level: 'error', msg, fields }),
    warn: (msg, fields = {}) => void logged.push({ level: 'warn', msg, fields }),
  };
  const app = createApp({ database: () => t.db, logger });
  app.get('/test/throws', () => {
    throw new Error('connection to 10.0.0.7 failed: password=hunter2');
  });
  // A real PostgreSQL error with the deadlock SQLSTATE, raised inside a transaction.
  app.get('/test/deadlock', async (c) => {
    await c.var.db.transaction().execute((trx) => sql`do $$ begin raise exception 'deadlock detected (test)' using errcode = '40P01'; end $$`.execute(trx));
    return c.json({ ok: true });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await close?.();
  await t.close();
});

describe('unexpected errors', () => {
  it('a thrown error is a 500 problem with a requestId and none of its message', async () => {
    const res = await fetch(`${url}/test/throws`);
    const text = await res.clone().text();
    const body = await expectProblem(res, 500, 'internal_error');
    expect(text).not.toMatch(/hunter2|10\.0\.0\.7|Error:/);
    expect(body.detail).toMatch(/requestId/);
    const entry = logged.find((l) => l.fields.requestId === body.requestId);
    expect(entry).toMatchObject({ level: 'error', msg: 'unhandled error' });
  });

  it('a deadlock or serialization failure is a 503 the client may retry, not a 500', async () => {
    const res = await fetch(`${url}/test/deadlock`);
    const text = await res.clone().text();
    const body = await expectProblem(res, 503, 'unavailable');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(body.detail).toMatch(/retry/);
    expect(text).not.toMatch(/deadlock detected/);
    expect(logged.find((l) => l.fields.requestId === body.requestId)).toMatchObject({ level: 'warn', msg: 'transaction conflict' });
  });
});
