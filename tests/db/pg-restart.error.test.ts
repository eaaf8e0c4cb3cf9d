import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pause } from '../../src/lib/pause.js';
import { Receiver } from '../webhooks/outbound-receiver.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort, type Spawned, spawnTs, waitFor } from '../support/process.js';

/**
 * #12: PostgreSQL restarts while clients stream usage batches and test
 * webhooks into the running service (which also delivers them and runs its
 * jobs): first `pg_ctlcluster … restart -m immediate` twice (a crash and about
 * a second down), then a crash stop held until /readyz reports the outage.
 * Every request gets an answer (2xx, or 503 with Retry-After), every
 * acknowledged event is stored and every acknowledged webhook delivered, the
 * service recovers by itself and SIGTERM still stops it.
 *
 * The restarts run asynchronously: a synchronous one blocks this process's
 * event loop for the whole restart, the service closes the client's idle
 * keep-alive sockets meanwhile (5 s), and the client then writes its next
 * request into a closed socket ("other side closed"), which looked like the
 * service hanging up on in-flight requests.
 *
 * It restarts the PostgreSQL cluster serving DATABASE_URL's port, which would
 * break test files running beside it, so it runs on its own: `.ci/run` starts
 * it after the server suite with HS_PG_RESTART=1.
 */

/** The local cluster (version, name) whose postgresql.conf has DATABASE_URL's port. */
function clusterOf(url: string | undefined): [string, string] | undefined {
  if (!url || !existsSync('/etc/postgresql')) return undefined;
  const port = new URL(url).port || '5432';
  for (const version of readdirSync('/etc/postgresql')) {
    for (const name of readdirSync(`/etc/postgresql/${version}`)) {
      const conf = `/etc/postgresql/${version}/${name}/postgresql.conf`;
      if (existsSync(conf) && /^\s*port\s*=\s*(\d+)/m.exec(readFileSync(conf, 'utf8'))?.[1] === port) return [version, name];
    }
  }
  return undefined;
}
const cluster = clusterOf(process.env.DATABASE_URL);
const enabled = process.env.HS_PG_RESTART === '1' && cluster !== undefined;

let t: TestDatabase;
let service: Spawned | undefined;
let receiver: Receiver;
beforeAll(async () => {
  if (!enabled) return;
  t = await createTestDatabase();
  receiver = await new Receiver().start();
});
afterAll(async () => {
  if (service && process.env.HS_SERVICE_LOG) writeFileSync(process.env.HS_SERVICE_LOG, service.output());
  service?.child.kill('SIGKILL');
  await receiver?.stop();
  await t?.close();
});

const run = promisify(execFile);
const pgCtl = (...args: string[]) => run('pg_ctlcluster', ['--skip-systemctl-redirect', ...cluster!, ...args]);

describe.skipIf(!enabled)('PostgreSQL restarts under load', () => {
  it('every request answered (2xx or 503 + Retry-After), nothing acknowledged lost, recovery and shutdown without a restart', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    service = spawnTs('src/node.ts', [], {
      PORT: String(port),
      DATABASE_URL: t.url!,
      LOG_LEVEL: process.env.HS_SERVICE_LOG_LEVEL ?? 'warn',
      DATABASE_POOL_MAX: '4',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      WEBHOOK_RETRY_SCHEDULE_MS: '100,200,400,800,1000,1000,1000,1000',
      OUTBOX_POLL_INTERVAL_MS: '100',
      // A request whose connection was lost mid-query is answered 503 after this long instead of never.
      REQUEST_TIMEOUT_MS: '10000',
      // The streams send far more than a client may in a minute; the limit is not what this tests.
      RATE_LIMIT_PER_MINUTE: '0',
    });
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 180_000, 'service start');
    const key = /hs_[A-Za-z0-9_-]{40,}/.exec(service.output())![0];
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    expect((await fetch(`${base}/v1/accounts/restart-co`, { method: 'PUT', headers: auth, body: JSON.stringify({ name: 'Restart Co' }) })).status).toBe(201);
    const subRes = await fetch(`${base}/v1/webhooks/subscriptions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ url: `${receiver.url}/hook`, eventTypes: ['webhook.test'] }),
    });
    expect(subRes.status).toBe(201);
    const sub = (await subRes.json()) as { id: number; secret: string };
    receiver.secrets.set('/hook', sub.secret);

    const acknowledged = new Set<string>();
    const acknowledgedWebhooks = new Set<string>();
    const unexpected: string[] = [];
    const statuses = new Map<number, number>();
    const inFlight = new Map<string, string>();
    let readyzDown = false;
    let stop = false;

    /** Sends requests one after another until stopped; 503 must carry Retry-After, anything else but `ok` is unexpected. */
    const stream = async (name: string, send: (n: number) => Promise<Response>, ok: (res: Response, n: number) => Promise<boolean>) => {
      for (let n = 0; !stop; n++) {
        let res: Response;
        try {
          inFlight.set(name, new Date().toISOString());
          res = await send(n);
          inFlight.delete(name);
        } catch (err) {
          inFlight.delete(name);
          unexpected.push(`${name} ${n}: no answer (${(err as Error).message}: ${String((err as { cause?: unknown }).cause)})`);
          continue;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 503 && res.headers.get('retry-after') && res.headers.get('content-type') === 'application/problem+json') {
          await res.body?.cancel();
          await pause(100); // a client backing off before its retry
        } else if (!(await ok(res, n))) {
          unexpected.push(`${name} ${n}: ${res.status} ${await res.text()}`);
        }
      }
    };
    const usage = (n: number) => Array.from({ length: 50 }, (_, i) => ({
      eventId: `r-${n}-${i}`,
      account: 'restart-co',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      metric: 'login',
    }));
    const ingest = stream(
      'usage batch',
      (n) => fetch(`${base}/v1/usage/batch`, { method: 'POST', headers: auth, body: JSON.stringify({ items: usage(n) }) }),
      async (res, n) => {
        if (res.status !== 200) return false;
        const body = (await res.json()) as { results: { result: string }[] };
        body.results.forEach((r, i) => r.result !== 'error' && acknowledged.add(`r-${n}-${i}`));
        return true;
      },
    );
    const webhooks = stream(
      'test webhook',
      () => fetch(`${base}/v1/webhooks/subscriptions/${sub.id}/test`, { method: 'POST', headers: auth }),
      async (res) => {
        if (res.status !== 202) return false;
        acknowledgedWebhooks.add(((await res.json()) as { eventId: string }).eventId);
        return true;
      },
    );
    const probe = (async () => {
      while (!stop) {
        const res = await fetch(`${base}/readyz`).catch(() => undefined);
        if (res?.status === 503) readyzDown = true;
        await res?.body?.cancel();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const progress = async (what: string) => {
      const [events, hooks] = [acknowledged.size, acknowledgedWebhooks.size];
      await waitFor(async () => acknowledged.size >= events + 500 && acknowledgedWebhooks.size >= hooks + 20, 120_000, what).catch((err: Error) => {
        const state = { events: acknowledged.size, hooks: acknowledgedWebhooks.size, statuses: Object.fromEntries(statuses), unexpected, inFlight: Object.fromEntries(inFlight) };
        throw new Error(`${err.message}: ${JSON.stringify(state)}\n${service!.output().slice(-4000)}`);
      });
    };

    await progress('some requests before the restarts');
    // Crash restarts, about a second down each, while requests are in flight.
    for (const n of [1, 2]) {
      await pgCtl('restart', '-m', 'immediate');
      await progress(`requests to be acknowledged again after restart ${n}`);
    }
    // A crash stop held until /readyz has seen it.
    try {
      await pgCtl('stop', '-m', 'immediate');
      await waitFor(async () => readyzDown, 30_000, '/readyz to report the outage');
    } finally {
      await pgCtl('start');
    }
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 120_000, '/readyz after the restart');
    await progress('requests to be acknowledged again after the outage');
    stop = true;
    await Promise.all([ingest, webhooks, probe]);

    if (process.env.HS_SERVICE_LOG) writeFileSync(process.env.HS_SERVICE_LOG, service.output());
    expect(unexpected, service.output().slice(-3000)).toEqual([]);
    expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect(readyzDown).toBe(true);
    const stored = await t.db.selectFrom('usage_events').select('event_id').where('event_id', 'like', 'r-%').execute();
    const storedIds = new Set(stored.map((r) => r.event_id));
    expect([...acknowledged].filter((id) => !storedIds.has(id))).toEqual([]);
    // Every acknowledged webhook reaches the receiver (the worker retries through the outage).
    await receiver.waitFor((r) => [...acknowledgedWebhooks].every((id) => r.acceptedById().has(id)), 120_000, 'every acknowledged webhook').catch(async (err: Error) => {
      const missing = [...acknowledgedWebhooks].filter((id) => !receiver.acceptedById().has(id));
      const { rows } = await sql`
        select d.event_id, d.status, d.attempt, d.next_attempt_at, d.leased_until, d.last_error, now() as now,
               (select json_agg(json_build_object('attempt', a.attempt, 'outcome', a.outcome, 'error', a.error) order by a.attempt)
                  from webhook_delivery_attempts a where a.delivery_id = d.id) as attempts
          from webhook_deliveries d where d.event_id = any(${missing.slice(0, 10)}::text[])`.execute(t.db).catch((e: Error) => ({ rows: [e.message] }));
      throw new Error(`${err.message}: ${missing.length} of ${acknowledgedWebhooks.size} missing; ${JSON.stringify(rows)}\n${service!.output().slice(-4000)}`);
    });
    await sql`select 1`.execute(t.db);

    // Still stops cleanly after the outage.
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    service = undefined;
  }, 900_000);
});
