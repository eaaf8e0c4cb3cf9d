import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';
import { freePort, runTs, type Spawned, spawnTs, waitFor } from '../support/process.js';

/**
 * #12, the first hour: `npm start` in one terminal, `npm run cli -- demo` in
 * another. With the embedded database the service holds the data folder, so
 * the CLI hands the demo to it (src/cli/local-admin.ts); with a server both
 * use the database. Either way the running service then shows scored
 * accounts, open churn alerts and planned follow-ups.
 */

const cleanups: (() => Promise<unknown>)[] = [];
let service: Spawned | undefined;
afterAll(async () => {
  service?.child.kill('SIGTERM');
  await service?.exited;
  for (const cleanup of cleanups) await cleanup();
});

type Page = { items: Record<string, unknown>[] };

describe('npm run cli -- demo beside a running service', { timeout: 300_000 }, () => {
  it('fills the running service: scored accounts, open alerts and planned follow-ups appear in its API', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hs-demo-beside-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    let env: Record<string, string>;
    if (onServer()) {
      const database: TestDatabase = await createTestDatabase();
      cleanups.push(() => database.close());
      env = { DATABASE_URL: database.url! };
    } else {
      env = { DATABASE_URL: '', DATA_DIR: dataDir };
    }
    const port = await freePort();
    service = spawnTs('src/node.ts', [], { ...env, PORT: String(port), LOG_LEVEL: 'warn' });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/readyz`)).ok, 120_000, '/readyz');
    const key = /hs_[A-Za-z0-9_-]{40,}/.exec(service.output())?.[0];
    expect(key, service.output()).toBeDefined();

    const demo = await runTs('src/cli/main.ts', ['demo', '--accounts', '30', '--seed', '7'], env);
    expect(demo.code, demo.output).toBe(0);
    if (!onServer()) expect(demo.output).toMatch(/the service \(pid \d+\) is running on .*: the demo runs in it/);
    expect(demo.output).toMatch(/accounts\s+30 created/);
    expect(demo.output).toMatch(/settled\s+30 accounts scored/);
    expect(demo.output).toMatch(/password for all: \S+/);

    const get = async (path: string) => {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status, path).toBe(200);
      return (await res.json()) as Page;
    };
    let seen = { scored: 0, alerts: 0, followUps: 0 };
    await waitFor(
      async () => {
        seen = {
          scored: (await get('/v1/health?limit=100')).items.filter((i) => typeof i.score === 'number').length,
          alerts: (await get('/v1/alerts?status=open&limit=100')).items.length,
          followUps: (await get('/v1/follow-ups?status=scheduled&limit=100')).items.length,
        };
        return seen.scored === 30 && seen.alerts > 0 && seen.followUps > 0;
      },
      60_000,
      'scores, alerts and follow-ups in the running service',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(seen)}\n${demo.output}`);
    });

    // The service kept running and stops cleanly.
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });
});
