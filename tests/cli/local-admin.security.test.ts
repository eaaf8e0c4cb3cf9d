import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServiceLink, type ServiceLink, startLocalAdmin } from '../../src/cli/local-admin.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { expectProblem } from '../support/problem.js';

/**
 * The local admin listener a running embedded service opens for `npm run cli -- demo`
 * (src/cli/local-admin.ts): loopback only, a token readable by the service's user
 * alone, nothing without it, and no files left behind when it stops.
 */

let t: TestDatabase;
let dir: string;
let admin: Awaited<ReturnType<typeof startLocalAdmin>>;
let link: ServiceLink;
beforeAll(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'hs-local-admin-'));
  admin = await startLocalAdmin({ dataDir: dir, db: t.db, logger: createLogger('silent') });
  link = readServiceLink(dir)!;
});
afterAll(async () => {
  await admin?.close();
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown, authorization?: string, contentType = 'application/json') =>
  fetch(`${link.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(authorization ? { authorization } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('the local admin listener', () => {
  it('listens on the loopback interface only, on a port of its own', () => {
    expect(link.pid).toBe(process.pid);
    expect(new URL(link.url).hostname).toBe('127.0.0.1');
  });

  it('keeps its token in a file only its user can read', async () => {
    const file = join(dir, 'healthscore.admin.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(link);
    expect(link.token.length).toBeGreaterThanOrEqual(40);
  });

  it('refuses requests without the token or with a wrong one, before reading the body', async () => {
    await expectProblem(await post('/demo', { accounts: 1 }), 401, 'unauthorized');
    await expectProblem(await post('/demo', { accounts: 1 }, `Bearer ${link.token.slice(0, -1)}x`), 401, 'unauthorized');
    await expectProblem(await post('/demo', { accounts: 1 }, link.token), 401, 'unauthorized');
    await expectProblem(await post('/nope', {}, 'Bearer x'), 401, 'unauthorized');
    // Nothing was written.
    expect((await t.db.selectFrom('accounts').select('id').execute()).length).toBe(0);
  });

  it('answers bad options with a 400 naming them, and unknown commands with a 404', async () => {
    const auth = `Bearer ${link.token}`;
    const bad = await expectProblem(await post('/demo', { accounts: 0, seed: -1, asOf: '2999-01-01', extra: 1 }, auth), 400, 'validation_failed');
    expect(bad.detail).toMatch(/accounts/);
    expect(bad.detail).toMatch(/seed/);
    expect(bad.detail).toMatch(/asOf/);
    // The API's field errors, unknown fields refused as they are there.
    expect(bad.errors!.map((e) => e.field).sort()).toEqual(['body.accounts', 'body.asOf', 'body.extra', 'body.seed']);
    await expectProblem(await post('/demo', 'accounts=3', auth, 'text/plain'), 415, 'unsupported_media_type');
    await expectProblem(await post('/keys', {}, auth), 404, 'not_found');
  });

  it('removes its file when it stops, so no CLI reaches for a service that is gone', async () => {
    await admin.close();
    expect(readServiceLink(dir)).toBeUndefined();
    await expect(stat(join(dir, 'healthscore.admin.json'))).rejects.toThrow();
    await expect(fetch(`${link.url}/demo`, { method: 'POST' })).rejects.toThrow();
  });
});
