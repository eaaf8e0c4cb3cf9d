import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

describe('run-now errors', () => {
  it('404 for a job that is not in the registry', async () => {
    const body = await expectProblem(await s.call('POST', '/v1/jobs/no-such-job/run'), 404, 'not_found');
    expect(body.detail).toContain('no-such-job');
    expect(await s.db.selectFrom('job_runs').select('id').execute()).toEqual([]);
  });

  it('409 while a run of the job is in progress (here: on another replica), and nothing recorded', async () => {
    const row = await s.db
      .insertInto('job_runs')
      .values({
        job_name: 'prune-inbound-webhook-messages',
        scheduled_for: new Date(Math.floor(Date.now() / 60_000) * 60_000),
        triggered_by: 'schedule',
        outcome: 'running',
        replica: 'other-host:7',
        started_at: new Date(),
        lease_expires_at: new Date(Date.now() + 60_000),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    try {
      const body = await expectProblem(await s.call('POST', '/v1/jobs/prune-inbound-webhook-messages/run'), 409, 'conflict');
      expect(body.runningRunId).toBe(row.id);
      const again = await s.call('POST', '/v1/jobs/prune-inbound-webhook-messages/run', { headers: { 'idempotency-key': 'busy-1' } });
      await expectProblem(again, 409, 'conflict');
      const runs = await s.db.selectFrom('job_runs').select('id').where('job_name', '=', 'prune-inbound-webhook-messages').execute();
      expect(runs).toHaveLength(1);
    } finally {
      await s.db.updateTable('job_runs').set({ outcome: 'failed', finished_at: new Date(), lease_expires_at: null }).where('id', '=', row.id).execute();
    }
    // Once it has ended, run-now works.
    expect((await s.call('POST', '/v1/jobs/prune-inbound-webhook-messages/run')).status).toBe(200);
  });

  it('a job that fails answers 200 with the failed run: outcome, sanitised message, finish time; with or without an Idempotency-Key', async () => {
    await sql`alter table usage_events rename to usage_events_away`.execute(s.db);
    try {
      for (const headers of [{}, { 'idempotency-key': 'failing-run-1' }] as Record<string, string>[]) {
        const res = await s.call('POST', '/v1/jobs/prune-usage-events/run', { headers });
        expect(res.status).toBe(200);
        const run = (await res.json()) as { id: number; outcome: string; error: string; finishedAt: string; counts: object };
        expect(run).toMatchObject({ outcome: 'failed', counts: {} });
        expect(run.error).toMatch(/usage_events.*does not exist/);
        expect(run.error).not.toMatch(/\n|at .*\.ts:/);
        const stored = await s.db.selectFrom('job_runs').selectAll().where('id', '=', run.id).executeTakeFirstOrThrow();
        expect(stored).toMatchObject({ outcome: 'failed', error: run.error, lease_expires_at: null });
        expect(stored.finished_at).not.toBeNull();
      }
    } finally {
      await sql`alter table usage_events_away rename to usage_events`.execute(s.db);
    }
    // The failed runs do not block the next one.
    const ok = (await (await s.call('POST', '/v1/jobs/prune-usage-events/run')).json()) as { outcome: string };
    expect(ok.outcome).toBe('succeeded');
  });
});

describe('run history: bad queries', () => {
  it.each([
    ['cursor=not-a-cursor', 'query.cursor'],
    [`cursor=${Buffer.from('[-1]').toString('base64url')}`, 'query.cursor'],
    [`cursor=${Buffer.from('{"id":3}').toString('base64url')}`, 'query.cursor'],
    ['outcome=exploded', 'query.outcome'],
    ['limit=0', 'query.limit'],
    ['limit=201', 'query.limit'],
    ['limit=ten', 'query.limit'],
    ['job=Not%20A%20Job', 'query.job'],
  ])('?%s → 400 naming %s', async (query, field) => {
    const body = await expectProblem(await s.call('GET', `/v1/jobs/runs?${query}`), 400, 'validation_failed');
    expect(body.errors!.map((e) => e.field)).toContain(field);
  });
});

describe('security', () => {
  it('every job route needs an API key', async () => {
    for (const [method, path] of [
      ['GET', '/v1/jobs'],
      ['GET', '/v1/jobs/runs'],
      ['POST', '/v1/jobs/prune-idempotency-keys/run'],
    ] as const) {
      await expectProblem(await s.call(method, path, { key: null }), 401, 'unauthorized');
      await expectProblem(await s.call(method, path, { key: `hs_${'x'.repeat(43)}` }), 401, 'unauthorized');
    }
  });

  it('run-now needs the admin scope; reading needs read', async () => {
    const read = await s.keyWith('read');
    const write = await s.keyWith('write', 'ingest');
    const body = await expectProblem(await s.call('POST', '/v1/jobs/prune-idempotency-keys/run', { key: read }), 403, 'forbidden');
    expect(body.requiredScope).toBe('admin');
    await expectProblem(await s.call('POST', '/v1/jobs/prune-idempotency-keys/run', { key: write }), 403, 'forbidden');
    await expectProblem(await s.call('GET', '/v1/jobs', { key: write }), 403, 'forbidden');
    await expectProblem(await s.call('GET', '/v1/jobs/runs', { key: write }), 403, 'forbidden');
    expect((await s.call('GET', '/v1/jobs', { key: read })).status).toBe(200);
    // The refused calls ran nothing.
    const manual = await s.db.selectFrom('job_runs').select('id').where('job_name', '=', 'prune-idempotency-keys').execute();
    expect(manual).toEqual([]);
  });

  it('other methods on the job routes are 405, not a run', async () => {
    const res = await s.call('GET', '/v1/jobs/prune-idempotency-keys/run');
    await expectProblem(res, 405, 'method_not_allowed');
  });
});
