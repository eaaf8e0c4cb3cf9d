import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedDb } from '../../src/db/embedded.js';
import { createTestDatabase, seedDataDir, type TestDatabase } from '../support/db.js';
import { freePort, type Spawned, spawnTs, waitFor } from '../support/process.js';
import { compactUsage } from '../../src/signals/usage-compaction.js';

/**
 * A client streams batches of usage events with retries while the service is
 * killed with SIGKILL and restarted. Every event of a batch that got a 2xx
 * must then be stored exactly once, raw and in the rollups.
 */
let t: TestDatabase | undefined;
let dataDir: string | undefined;
beforeAll(async () => {
  if (process.env.DATABASE_URL) t = await createTestDatabase();
  else {
    dataDir = await mkdtemp(join(tmpdir(), 'hs-crash-'));
    await seedDataDir(dataDir);
  }
});
afterAll(async () => {
  await t?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const BATCHES = 40;
const PER_BATCH = 200;

describe('ingest under SIGKILL', () => {
  it('every item acknowledged with a 2xx is stored exactly once', async () => {
    const port = await freePort();
    const env = { PORT: String(port), DATABASE_URL: t?.url ?? '', DATA_DIR: dataDir ?? '', LOG_LEVEL: 'warn' };
    const base = `http://127.0.0.1:${port}`;
    let service: Spawned = spawnTs('src/node.ts', [], env);
    const start = async () => waitFor(async () => (await fetch(`${base}/healthz`)).ok, 180_000, 'service start');
    await start();
    const key = /hs_[A-Za-z0-9_-]{40,}/.exec(service.output())![0];
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    expect((await fetch(`${base}/v1/accounts/crash-co`, { method: 'PUT', headers: auth, body: JSON.stringify({ name: 'Crash Co' }) })).status).toBe(201);

    const acknowledged: string[] = [];
    let attempts = 0;
    const client = (async () => {
      for (let b = 0; b < BATCHES; b++) {
        const items = Array.from({ length: PER_BATCH }, (_, i) => ({
          eventId: `b${b}-e${i}`,
          account: 'crash-co',
          occurredAt: new Date(Date.UTC(2026, 9, 1 + (i % 20), 12)).toISOString(),
          metric: `m${i % 3}`,
          userId: `user-${(b * 7 + i) % 40}`,
        }));
        for (;;) {
          attempts++;
          try {
            const res = await fetch(`${base}/v1/usage/batch`, {
              method: 'POST',
              headers: { ...auth, 'idempotency-key': `batch-${b}` },
              body: JSON.stringify({ items }),
            });
            if (res.ok) {
              const body = (await res.json()) as { summary: { error: number } };
              expect(body.summary.error).toBe(0);
              acknowledged.push(...items.map((e) => e.eventId));
              break;
            }
            await res.body?.cancel();
          } catch {
            // connection refused or reset: the service is down; retry
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();

    // Kill the service three times while the client works (after 8, 18 and 28
    // acknowledged batches, so mid-stream), restarting it each time.
    for (const after of [8, 18, 28]) {
      await waitFor(async () => acknowledged.length >= after * PER_BATCH, 120_000, `${after} batches`);
      service.child.kill('SIGKILL');
      await service.exited;
      service = spawnTs('src/node.ts', [], env);
      await start();
    }
    await client;
    service.child.kill('SIGTERM');
    await service.exited;

    expect(attempts).toBeGreaterThan(BATCHES); // the kills did interrupt the stream
    const counts = await readCounts();
    expect(new Set(acknowledged).size).toBe(BATCHES * PER_BATCH);
    expect(counts.raw).toBe(BATCHES * PER_BATCH);
    expect(counts.distinct).toBe(BATCHES * PER_BATCH);
    expect(counts.rolledUp).toBe(BATCHES * PER_BATCH);
    expect(counts.activeUsers).toBe(counts.expectedActiveUsers);
  });
});

async function readCounts() {
  const embedded = dataDir ? await createEmbeddedDb(dataDir) : undefined;
  const db = embedded?.db ?? t!.db;
  try {
    await compactUsage(db);
    const { rows } = await sql<{ raw: number; distinct: number; rolledUp: number; activeUsers: number; expectedActiveUsers: number }>`
      select (select count(*)::int from usage_events) as raw,
             (select count(distinct event_id)::int from usage_events) as distinct,
             (select coalesce(sum(events), 0)::int from usage_daily) as "rolledUp",
             (select coalesce(sum(active_users), 0)::int from usage_daily) as "activeUsers",
             (select count(*)::int from (select distinct account_id, (occurred_at at time zone 'UTC')::date, metric, user_id
                                          from usage_events) d) as "expectedActiveUsers"`.execute(db);
    return rows[0]!;
  } finally {
    await embedded?.close();
  }
}
