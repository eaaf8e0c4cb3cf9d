import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pause } from '../../src/lib/pause.js';
import { createSubscription } from '../../src/webhooks/outbound/repository.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { builtEntry, freePort, ROOT, waitFor } from '../support/process.js';
import { Receiver } from '../webhooks/outbound-receiver.js';

/**
 * #12: the service is SIGKILLed CRASHES times (50 in CI) at random moments
 * under mixed load: usage ingest, signal-driven rescoring (jobs), alert
 * actions, and outgoing deliveries. Then: every acknowledged item is stored
 * once, every event is delivered, at most one duplicate delivery per crash,
 * no duplicate alert or follow-up, every job occurrence run at most once.
 *
 * The built service (dist/node, built by the global setup) is started each time: it
 * starts in about a second. PostgreSQL server only (an embedded database
 * takes longer to open than the whole run may).
 */
const CRASHES = Number(process.env.HS_CRASHES ?? 50);
const enabled = Boolean(process.env.DATABASE_URL);

let t: TestDatabase;
let receiver: Receiver;
beforeAll(async () => {
  if (!enabled) return;
  t = await createTestDatabase();
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver?.stop();
  await t?.close();
});

function startService(env: Record<string, string>) {
  const child = spawn(process.execPath, [builtEntry('src/node.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, exited, output: () => out };
}

describe.skipIf(!enabled)(`${CRASHES} SIGKILLs under mixed load`, () => {
  it('loses nothing acknowledged, delivers every event, duplicates at most one delivery per crash, never an alert, follow-up or job run', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      DATABASE_URL: t.url!,
      LOG_LEVEL: 'error',
      DATABASE_POOL_MAX: '4',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      OUTBOX_LEASE_MS: '1500',
      WEBHOOK_REQUEST_TIMEOUT_MS: '500',
      WEBHOOK_RETRY_SCHEDULE_MS: '100,200,400,800,1000,1000,1000,1000,1000,1000',
      RATE_LIMIT_PER_MINUTE: '0',
    };
    let service = startService(env);
    const up = () => waitFor(async () => (await fetch(`${base}/readyz`)).ok, 120_000, 'service start');
    await up();
    const key = /hs_[A-Za-z0-9_-]{40,}/.exec(service.output())![0];
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const { subscription, secret } = await createSubscription(t.db, { url: `${receiver.url}/crash`, eventTypes: ['webhook.test'] });
    receiver.secrets.set('/crash', secret);

    /** Sends until a 2xx (the service may be down); returns the response body. */
    const reliably = async (path: string, init: RequestInit): Promise<unknown> => {
      for (;;) {
        try {
          const res = await fetch(`${base}${path}`, { ...init, headers: { ...auth, ...(init.headers as object) } });
          if (res.ok) return res.json();
          const status = res.status;
          await res.body?.cancel();
          if (status < 500) throw new Error(`${init.method} ${path}: ${status}`);
        } catch (err) {
          if ((err as Error).message.startsWith(`${init.method} `)) throw err;
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    };

    const acknowledged = new Set<string>();
    const testEvents = new Set<string>();
    let stop = false;
    const ingest = (async () => {
      for (let b = 0; !stop; b++) {
        const account = `crash-${b % 10}`;
        if (b < 10) await reliably(`/v1/accounts/${account}`, { method: 'PUT', body: JSON.stringify({ name: `Crash ${b}` }) });
        const items = Array.from({ length: 20 }, (_, i) => ({ eventId: `k${b}-${i}`, account, occurredAt: new Date(Date.now() - 3_600_000).toISOString(), metric: 'login', userId: `u${i}` }));
        await reliably('/v1/usage/batch', { method: 'POST', headers: { 'idempotency-key': `k${b}` }, body: JSON.stringify({ items }) });
        for (const item of items) acknowledged.add(item.eventId);
      }
    })();
    const deliveries = (async () => {
      while (!stop) {
        const body = (await reliably(`/v1/webhooks/subscriptions/${subscription.id}/test`, { method: 'POST' })) as { eventId: string };
        testEvents.add(body.eventId);
        await pause(100); // load pacing: about ten test deliveries a second
      }
    })();
    const alertActions = (async () => {
      while (!stop) {
        await reliably('/v1/alerts?limit=5', { method: 'GET' }).then(async (page) => {
          for (const alert of (page as { items: { id: number; status: string }[] }).items.filter((a) => a.status === 'open')) {
            await reliably(`/v1/alerts/${alert.id}/acknowledge`, { method: 'POST' }).catch(() => undefined);
          }
        });
        await pause(200); // load pacing
      }
    })();

    for (let crash = 0; crash < CRASHES; crash++) {
      await pause(100 + Math.random() * 900); // a random moment under load: what crashes are
      service.child.kill('SIGKILL');
      await service.exited;
      service = startService(env);
      await up();
    }
    stop = true;
    await Promise.all([ingest, deliveries, alertActions]);

    // Every event delivered (a killed worker's claims come back when their short leases end).
    await receiver.waitFor((r) => [...testEvents].every((id) => r.acceptedById().has(id)), 60_000, 'every test event');
    service.child.kill('SIGTERM');
    await service.exited;

    const stored = await sql<{ n: number; distinct: number }>`
      select count(*)::int as n, count(distinct event_id)::int as distinct from usage_events where event_id like 'k%'`.execute(t.db);
    const storedIds = new Set((await t.db.selectFrom('usage_events').select('event_id').where('event_id', 'like', 'k%').execute()).map((r) => r.event_id));
    // The load did run between the kills.
    expect(acknowledged.size).toBeGreaterThan(CRASHES * 20);
    expect(testEvents.size).toBeGreaterThan(CRASHES);
    expect([...acknowledged].filter((id) => !storedIds.has(id))).toEqual([]);
    expect(stored.rows[0]!.n).toBe(stored.rows[0]!.distinct);

    const perEvent = receiver.acceptedById();
    const duplicates = [...testEvents].reduce((sum, id) => sum + Math.max(0, (perEvent.get(id)?.length ?? 0) - 1), 0);
    expect(duplicates).toBeLessThanOrEqual(CRASHES);

    const twiceOpen = await sql<{ n: number }>`
      select count(*)::int as n from (select account_id, rule_key from alerts where status <> 'resolved' group by 1, 2 having count(*) > 1) d`.execute(t.db);
    expect(twiceOpen.rows[0]!.n).toBe(0);
    const twiceFollowedUp = await sql<{ n: number }>`
      select count(*)::int as n from (select account_id, playbook_key, anchor from follow_ups group by 1, 2, 3 having count(*) > 1) d`.execute(t.db);
    expect(twiceFollowedUp.rows[0]!.n).toBe(0);
    const twiceRun = await sql<{ n: number }>`
      select count(*)::int as n from (select job_name, scheduled_for from job_runs where outcome = 'succeeded' group by 1, 2 having count(*) > 1) d`.execute(t.db);
    expect(twiceRun.rows[0]!.n).toBe(0);
  });
});
