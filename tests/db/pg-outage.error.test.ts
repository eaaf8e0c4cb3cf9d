import { writeFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterUnavailableReason, createOwnCluster, dropStaleClusters, type OwnCluster } from '../support/pg-cluster.js';
import { freePort, type Spawned, spawnTs, waitFor } from '../support/process.js';
import { pause } from '../../src/lib/pause.js';

/** How often /readyz is polled through the outage: paces the probe, decides nothing. */
const READYZ_POLL_MS = 100;

/**
 * #24 items 1 and 6: PostgreSQL stops (a crash stop) under concurrent requests
 * to real service processes and stays down for HS_PG_OUTAGE_SECONDS (default
 * 8; production outages of minutes behave the same: nothing gives up). Every
 * request is answered within 2 s, with success or 503 + Retry-After in
 * problem+json with its requestId; none hangs. /readyz is 503 during the
 * outage and 200 after it, without a restart of the service; every
 * acknowledged write is stored; a service stopped during the outage exits
 * within 2 s; the webhook worker and the jobs wait for the database instead
 * of logging a failure every poll.
 *
 * It runs on a cluster of its own (pg_createcluster, on a free port), which
 * it creates and drops, so it never touches the server other tests use. The
 * 2 s bounds want a quiet machine: `.ci/run` runs it alone, after the suites,
 * with HS_PG_OUTAGE=1.
 */
const skipReason = process.env.HS_PG_OUTAGE !== '1' ? 'set HS_PG_OUTAGE=1 to run it (.ci/run does, alone)' : clusterUnavailableReason();
if (skipReason) console.log(`pg-outage.error.test.ts skipped: ${skipReason}`);

const OUTAGE_MS = Number(process.env.HS_PG_OUTAGE_SECONDS ?? 8) * 1000;
const ANSWER_WITHIN_MS = 2_000;
const PREFIX = 'hs_outage';

let cluster: OwnCluster | undefined;
const services: Spawned[] = [];
beforeAll(async () => {
  if (skipReason) return;
  dropStaleClusters(PREFIX);
  cluster = await createOwnCluster(PREFIX);
}, 120_000);
afterAll(async () => {
  if (process.env.HS_SERVICE_LOG) writeFileSync(process.env.HS_SERVICE_LOG, services.map((s) => s.output()).join('\n----\n'));
  for (const s of services) s.child.kill('SIGKILL');
  await cluster?.drop();
}, 60_000);

const startService = async (url: string) => {
  const port = await freePort();
  const service = spawnTs('src/node.ts', [], {
    PORT: String(port),
    DATABASE_URL: url,
    LOG_LEVEL: 'info',
    DATABASE_POOL_MAX: '4',
    OUTBOX_POLL_INTERVAL_MS: '100',
    RATE_LIMIT_PER_MINUTE: '0',
  });
  services.push(service);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 180_000, 'service start').catch((err: Error) => {
    throw new Error(`${err.message}\n${service.output().slice(-3000)}`);
  });
  return { service, base };
};

describe.skipIf(skipReason !== undefined)('PostgreSQL stops under load', () => {
  it('every request answered within 2 s (success or 503 + Retry-After), /readyz follows, nothing acknowledged lost, shutdown under 2 s', async () => {
    const a = await startService(cluster!.url);
    const key = /hs_[A-Za-z0-9_-]{40,}/.exec(a.service.output())![0];
    const b = await startService(cluster!.url);
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    const acknowledgedEvents = new Set<string>();
    const acknowledgedAccounts = new Set<string>();
    const unexpected: string[] = [];
    const statuses = new Map<number, number>();
    let slowest = 0;
    let outage: 'before' | 'during' | 'after' = 'before';
    const duringStatuses = new Map<number, number>();
    let stop = false;

    /** One request, timed: an answer after 2 s, or none, is a failure; so is anything but `ok` or 503 + Retry-After in problem+json. */
    const call = async (name: string, url: string, init: RequestInit, ok: (res: Response) => Promise<boolean>) => {
      const started = performance.now();
      let res: Response;
      try {
        res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        unexpected.push(`${name}: no answer after ${Math.round(performance.now() - started)} ms (${(err as Error).message}) ${outage} the outage`);
        return;
      }
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      if (ms > ANSWER_WITHIN_MS) unexpected.push(`${name}: answered ${res.status} after ${Math.round(ms)} ms, ${outage} the outage`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (outage === 'during') duringStatuses.set(res.status, (duringStatuses.get(res.status) ?? 0) + 1);
      if (res.status === 503) {
        const body = (await res.json()) as { code?: string; requestId?: string };
        const wellFormed = res.headers.get('retry-after') && res.headers.get('content-type') === 'application/problem+json' && body.code === 'unavailable' && body.requestId === res.headers.get('x-request-id');
        if (!wellFormed) unexpected.push(`${name}: 503 without Retry-After or problem+json: ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 50));
        return;
      }
      if (!(await ok(res))) unexpected.push(`${name}: ${res.status} ${await res.text().catch(() => '')}`);
    };

    const stopped = new Set<string>();
    const streams = (base: string, tag: string, count: number) =>
      Array.from({ length: count }, async (_, s) => {
        for (let n = 0; !stop && !stopped.has(tag); n++) {
          const kind = (n + s) % 3;
          if (kind === 0) {
            const items = Array.from({ length: 10 }, (_, i) => ({ eventId: `${tag}-${s}-${n}-${i}`, account: 'outage-co', occurredAt: new Date(Date.now() - 60_000).toISOString(), metric: 'login' }));
            await call('usage batch', `${base}/v1/usage/batch`, { method: 'POST', headers: auth, body: JSON.stringify({ items }) }, async (res) => {
              if (res.status !== 200) return false;
              const body = (await res.json()) as { results: { result: string }[] };
              body.results.forEach((r, i) => r.result !== 'error' && acknowledgedEvents.add(items[i]!.eventId));
              return true;
            });
          } else if (kind === 1) {
            const id = `${tag}-acct-${s}-${n}`;
            await call('put account', `${base}/v1/accounts/${id}`, { method: 'PUT', headers: auth, body: JSON.stringify({ name: `Outage ${id}` }) }, async (res) => {
              if (res.status !== 201 && res.status !== 200) return false;
              acknowledgedAccounts.add(id);
              await res.body?.cancel();
              return true;
            });
          } else {
            await call('list accounts', `${base}/v1/accounts?limit=5`, { headers: auth }, async (res) => {
              await res.body?.cancel();
              return res.status === 200;
            });
          }
        }
      });

    const readyz: { during: number[]; after: number[] } = { during: [], after: [] };
    const probe = (async () => {
      while (!stop) {
        const res = await fetch(`${a.base}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        const phase = outage as 'before' | 'during' | 'after';
        if (phase !== 'before') readyz[phase].push(res?.status ?? 0);
        await res?.body?.cancel();
        await pause(READYZ_POLL_MS);
      }
    })();

    expect((await fetch(`${a.base}/v1/accounts/outage-co`, { method: 'PUT', headers: auth, body: JSON.stringify({ name: 'Outage Co' }) })).status).toBe(201);
    const running = [...streams(a.base, 'a', 8), ...streams(b.base, 'b', 2), probe];
    const progress = async (what: string) => {
      const [events, accounts] = [acknowledgedEvents.size, acknowledgedAccounts.size];
      await waitFor(async () => acknowledgedEvents.size >= events + 100 && acknowledgedAccounts.size >= accounts + 10, 60_000, what).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify({ statuses: Object.fromEntries(statuses), unexpected: unexpected.slice(0, 10) })}\n${a.service.output().slice(-3000)}`);
      });
    };
    try {
      await progress('writes acknowledged before the outage');
      await cluster!.stop('immediate');
      outage = 'during';
      const outageStarted = Date.now();
      // A service stopped while the database is away still exits promptly.
      await waitFor(async () => readyz.during.includes(503), 10_000, '/readyz to report the outage');
      stopped.add('b');
      await Promise.all(running.slice(8, 10));
      const sigterm = performance.now();
      b.service.child.kill('SIGTERM');
      const code = await b.service.exited;
      const shutdownMs = performance.now() - sigterm;
      console.log(`pg-outage: service stopped during the outage in ${Math.round(shutdownMs)} ms (exit ${code})`);
      expect(code).toBe(0);
      expect(shutdownMs).toBeLessThan(2_000);
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStarted))));
      await cluster!.start();
      outage = 'after';
      // Back by itself: no restart of the service.
      await waitFor(async () => readyz.after.includes(200), 30_000, '/readyz to report the database back');
      await progress('writes acknowledged again after the outage');
    } finally {
      stop = true;
      await Promise.all(running);
    }

    const log = a.service.output();
    if (process.env.HS_SERVICE_LOG) writeFileSync(process.env.HS_SERVICE_LOG, log);
    console.log(`pg-outage: ${OUTAGE_MS} ms down; statuses ${JSON.stringify(Object.fromEntries(statuses))}, during ${JSON.stringify(Object.fromEntries(duringStatuses))}; slowest answer ${Math.round(slowest)} ms`);
    expect(unexpected, log.slice(-3000)).toEqual([]);
    expect(duringStatuses.get(503) ?? 0).toBeGreaterThan(10);
    expect(readyz.during).toContain(503);
    expect(readyz.after.at(-1)).toBe(200);

    const direct = postgres(cluster!.url, { max: 1, onnotice: () => {} });
    try {
      const events = new Set((await direct<{ event_id: string }[]>`select event_id from usage_events where event_id like '%-%-%-%'`).map((r) => r.event_id));
      expect([...acknowledgedEvents].filter((id) => !events.has(id))).toEqual([]);
      const accounts = new Set((await direct<{ external_id: string }[]>`select external_id from accounts`).map((r) => r.external_id));
      expect([...acknowledgedAccounts].filter((id) => !accounts.has(id))).toEqual([]);
    } finally {
      await direct.end({ timeout: 1 });
    }

    // The background loops waited for the database instead of failing every poll.
    expect(log).not.toMatch(/no claim within/);
    expect(log.match(/"msg":"webhook claim failed"/g) ?? []).toEqual([]);
    expect((log.match(/"msg":"job claim failed"/g) ?? []).length).toBeLessThanOrEqual(2);
    expect((log.match(/"msg":"database unreachable/g) ?? []).length).toBeGreaterThanOrEqual(1);
    expect((log.match(/"msg":"webhook worker waits for the database"/g) ?? []).length).toBeLessThanOrEqual(3);

    a.service.child.kill('SIGTERM');
    expect(await a.service.exited).toBe(0);
  }, 600_000);
});
