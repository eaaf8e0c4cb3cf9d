import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import { serveNode } from '../../src/http/node-server.js';
import { clearKeyCache } from '../../src/auth/middleware.js';
import type { Scope } from '../../src/auth/keys.js';
import { createApiKey } from '../../src/auth/repository.js';
import { createLogger } from '../../src/logger.js';
import { nodeDocsAssets } from '../../src/system/node-assets.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface TestServer {
  url: string;
  database: TestDatabase;
  db: TestDatabase['db'];
  /** An API key with every scope. */
  adminKey: string;
  keyWith(...scopes: Scope[]): Promise<string>;
  /** fetch against the server; `key` adds the bearer header, a plain object body is sent as JSON. */
  call(method: string, path: string, options?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/** The real app on a real HTTP port over this file's own database. */
export async function startTestServer(
  options: { bodyLimitBytes?: number; allowPrivateWebhookUrls?: boolean; rateLimitPerMinute?: number; requestTimeoutMs?: number } = {},
): Promise<TestServer> {
  const database = await createTestDatabase();
  const app = createApp({
    database: () => database.db,
    logger: createLogger((process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent'),
    bodyLimitBytes: options.bodyLimitBytes,
    // Test receivers listen on 127.0.0.1.
    allowPrivateWebhookUrls: options.allowPrivateWebhookUrls ?? true,
    rateLimitPerMinute: options.rateLimitPerMinute,
    requestTimeoutMs: options.requestTimeoutMs,
    docsAssets: nodeDocsAssets,
  });
  const server = serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keyWith = async (...scopes: Scope[]) => (await createApiKey(database.db, `test-${scopes.join('-')}`, scopes)).key;
  const adminKey = await keyWith('admin');

  return {
    url,
    database,
    db: database.db,
    adminKey,
    keyWith,
    call(method, path, { key = adminKey, body, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (key) (init.headers as Record<string, string>).authorization = `Bearer ${key}`;
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      return fetch(url + path, init);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets a test left open must not hold the suite.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      clearKeyCache();
      await database.close();
    },
  };
}
