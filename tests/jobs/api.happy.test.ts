import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/compose/jobs.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let readKey: string;
beforeAll(async () => {
  s = await startTestServer();
  readKey = await s.keyWith('read');
});
afterAll(() => s.close());

interface Run {
  id: number;
  job: string;
  scheduledFor: string;
  trigger: string;
  outcome: string;
  replica: string;
  startedAt: string;
  finishedAt: string | null;
  counts: Record<string, number>;
  error: string | null;
}

const json = async <T>(res: Response) => {
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
};

describe('GET /v1/jobs', () => {
  it('lists the registry with each job’s cron and last run (none yet), with a read key', async () => {
    const body = await json<{ items: { name: string; cron: string; description: string; lastRun: Run | null }[] }>(
      await s.call('GET', '/v1/jobs', { key: readKey }),
    );
    expect(body.items.map((j) => [j.name, j.cron])).toEqual(registry.map((j) => [j.name, j.cron]));
    expect(body.items.every((j) => j.lastRun === null && j.description.length > 0)).toBe(true);
  });
});

describe('POST /v1/jobs/{name}/run', () => {
  it('runs the job now and answers with the finished run, recorded like any other', async () => {
    const before = Date.now();
    const res = await s.call('POST', '/v1/jobs/prune-idempotency-keys/run');
    const run = await json<Run>(res);
    expect(res.status).toBe(200);
    expect(run).toMatchObject({ job: 'prune-idempotency-keys', trigger: 'manual', outcome: 'succeeded', counts: { deleted: 0 }, error: null });
    expect(run.replica).toMatch(/.+/);
    expect(Date.parse(run.scheduledFor)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(run.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));

    const jobs = await json<{ items: { name: string; lastRun: Run | null }[] }>(await s.call('GET', '/v1/jobs', { key: readKey }));
    expect(jobs.items.find((j) => j.name === 'prune-idempotency-keys')!.lastRun).toEqual(run);
  });

  it('with an Idempotency-Key, a retry replays the run instead of running it again', async () => {
    const headers = { 'idempotency-key': 'run-usage-prune-1' };
    const first = await json<Run>(await s.call('POST', '/v1/jobs/prune-usage-events/run', { headers }));
    expect(first).toMatchObject({ outcome: 'succeeded', counts: { partitionsDropped: 0, retentionDays: 400 } });
    const retry = await s.call('POST', '/v1/jobs/prune-usage-events/run', { headers });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as Run).id).toBe(first.id);
    const runs = await s.db.selectFrom('job_runs').select('id').where('job_name', '=', 'prune-usage-events').execute();
    expect(runs).toHaveLength(1);
  });
});

describe('GET /v1/jobs/runs', () => {
  beforeAll(async () => {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const at = (i: number) => new Date(minute - (20 - i) * 3_600_000);
    await s.db
      .insertInto('job_runs')
      .values(
        Array.from({ length: 7 }, (_, i) => ({
          job_name: 'prune-inbound-webhook-messages',
          scheduled_for: at(i),
          triggered_by: 'schedule' as const,
          outcome: i % 3 === 2 ? ('failed' as const) : ('succeeded' as const),
          replica: `host-${i % 2}:100`,
          started_at: at(i),
          finished_at: new Date(at(i).getTime() + 500),
          error: i % 3 === 2 ? 'Error: boom' : null,
        })),
      )
      .execute();
  });

  it('pages newest first with a keyset cursor, no row twice, none missed', async () => {
    const seen: Run[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/jobs/runs?job=prune-inbound-webhook-messages&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page: { items: Run[]; nextCursor: string | null; hasMore: boolean } = await json(await s.call('GET', query, { key: readKey }));
      seen.push(...page.items);
      expect(page.hasMore).toBe(page.nextCursor !== null);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    const ids = seen.map((r) => r.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    expect(new Set(ids).size).toBe(7);
  });

  it('filters by outcome, and by job', async () => {
    const failed = await json<{ items: Run[] }>(await s.call('GET', '/v1/jobs/runs?outcome=failed', { key: readKey }));
    expect(failed.items).toHaveLength(2);
    expect(failed.items.every((r) => r.outcome === 'failed' && r.error === 'Error: boom')).toBe(true);
    const all = await json<{ items: Run[] }>(await s.call('GET', '/v1/jobs/runs?limit=200', { key: readKey }));
    expect(new Set(all.items.map((r) => r.job))).toEqual(
      new Set(['prune-inbound-webhook-messages', 'prune-idempotency-keys', 'prune-usage-events']),
    );
    const none = await json<{ items: Run[]; nextCursor: null }>(await s.call('GET', '/v1/jobs/runs?job=never-ran', { key: readKey }));
    expect(none).toEqual({ items: [], nextCursor: null, hasMore: false });
  });

  it('is in the OpenAPI document with its scopes', async () => {
    const doc = (await (await s.call('GET', '/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, { 'x-required-scope'?: string }>>;
    };
    expect(doc.paths['/v1/jobs']!.get!['x-required-scope']).toBe('read');
    expect(doc.paths['/v1/jobs/runs']!.get!['x-required-scope']).toBe('read');
    expect(doc.paths['/v1/jobs/{name}/run']!.post!['x-required-scope']).toBe('admin');
  });
});
