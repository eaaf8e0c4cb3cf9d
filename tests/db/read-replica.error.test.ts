import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { clearKeyCache } from '../../src/auth/middleware.js';
import { createApiKey } from '../../src/auth/repository.js';
import { ConfigError, parseConfig } from '../../src/config.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { replicaUsable } from '../../src/db/read-routing.js';
import { serveNode } from '../../src/http/node-server.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort, runTs } from '../support/process.js';

describe('read replica settings', () => {
  it('refuses a DATABASE_READ_URL that is not a postgres URL and a negative lag, naming them', () => {
    expect(() => parseConfig({ DATABASE_READ_URL: 'mysql://replica/db' })).toThrow(/DATABASE_READ_URL: must be a postgres/);
    expect(() => parseConfig({ DATABASE_READ_MAX_LAG_MS: '-1' })).toThrow(ConfigError);
    expect(parseConfig({}).DATABASE_READ_MAX_LAG_MS).toBe(5000);
  });

  it('the service refuses DATABASE_READ_URL without DATABASE_URL (the embedded database has no replica)', async () => {
    const { code, output } = await runTs('src/node.ts', [], {
      DATABASE_URL: '',
      DATABASE_READ_URL: 'postgres://postgres@127.0.0.1:1/none',
      DATA_DIR: `/tmp/hs-read-replica-${process.pid}`,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/DATABASE_READ_URL: needs DATABASE_URL/);
  });

  it('a replica is usable only with a measured lag within the limit', () => {
    expect(replicaUsable({ lagMs: 0, checkedAt: 0 }, 0)).toBe(true);
    expect(replicaUsable({ lagMs: 5000, checkedAt: 0 }, 5000)).toBe(true);
    expect(replicaUsable({ lagMs: 5001, checkedAt: 0 }, 5000)).toBe(false);
    expect(replicaUsable({ lagMs: null, checkedAt: 0 }, 5000)).toBe(false);
  });
});

describe('a replica that cannot be reached', () => {
  let database: TestDatabase;
  let replica: ReturnType<typeof createPostgresDb>;
  let server: ReturnType<typeof serveNode>;
  let url: string;
  let key: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    // Nothing listens there: every connection is refused.
    replica = createPostgresDb({ url: `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, max: 2, connectTimeoutSeconds: 2 });
    const app = createApp({ database: () => database.db, readDatabase: () => replica.db, logger: createLogger('silent') });
    server = serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    key = (await createApiKey(database.db, 'reader', ['read', 'write'])).key;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server?.close(() => resolve());
      (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
    });
    await replica?.close();
    clearKeyCache();
    await database?.close();
  });

  it('serves every lag-tolerant read from the primary, never a 5xx', async () => {
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    expect((await fetch(`${url}/v1/accounts/unreachable-1`, { method: 'PUT', headers, body: JSON.stringify({ name: 'U' }) })).status).toBe(201);
    for (let round = 0; round < 2; round++) {
      for (const path of ['/v1/accounts', '/v1/health', '/v1/health?format=csv', '/v1/outcomes', '/v1/alerts', '/v1/follow-ups']) {
        const res = await fetch(url + path, { headers });
        expect(res.status, path).toBe(200);
        expect(res.headers.get('x-read-source'), path).toBe('primary');
        if (path === '/v1/accounts') expect(((await res.json()) as { items: { externalId: string }[] }).items.map((a) => a.externalId)).toContain('unreachable-1');
      }
    }
  });
});
