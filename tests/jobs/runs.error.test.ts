import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRun, executeRun, runOccurrence, sanitiseError } from '../../src/jobs/runner.js';
import type { JobDefinition } from '../../src/jobs/types.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { pastMinute, runsOf, settings, silent } from './support.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

const failing = (name: string, thrown: () => unknown): JobDefinition => ({
  name,
  cron: '* * * * *',
  description: 'fails',
  handler: async () => {
    throw thrown();
  },
});

const secretMessage =
  'could not connect to postgres://svc_user:s3cr3t-pa55@db.internal:5432/prod; Authorization: Bearer hs_AbCdEfGhIjKlMnOpQrStUvWxYz012345 password=hunter2 whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('a failing run is recorded on its row', () => {
  it('outcome failed, a sanitised one-line message, start and finish times, empty counts, the replica', async () => {
    const scheduledFor = new Date(pastMinute());
    const result = await runOccurrence(t.db, failing('fails', () => new Error(`${secretMessage}\n    at secret (/srv/app/x.ts:1:1)`)), {
      scheduledFor,
      trigger: 'schedule',
      replica: 'web-1:321',
      logger: silent,
      settings,
    });
    expect(result.status).toBe('ran');
    const [row] = await runsOf(t, 'fails');
    expect(row).toMatchObject({ outcome: 'failed', replica: 'web-1:321', counts: {}, lease_expires_at: null, triggered_by: 'schedule' });
    expect(row!.finished_at!.getTime()).toBeGreaterThanOrEqual(row!.started_at.getTime());
    for (const secret of ['s3cr3t-pa55', 'svc_user', 'hs_AbCdEfGhIjKl', 'hunter2', 'whsec_MfKQ', '/srv/app/x.ts']) {
      expect(row!.error).not.toContain(secret);
    }
    expect(row!.error).toContain('could not connect to postgres://***@db.internal:5432/prod');
    expect(row!.error).toContain('Bearer ***');
    expect(row!.error).toMatch(/\(\+1 more line\)$/);
    expect(row!.error).not.toContain('\n');
  });

  it('the next occurrence runs normally after a failure', async () => {
    let calls = 0;
    const job: JobDefinition = {
      name: 'flaky',
      cron: '* * * * *',
      description: 'fails once',
      handler: async () => {
        if (++calls === 1) throw new TypeError('first time unlucky');
        return { ok: 1 };
      },
    };
    const at = pastMinute() - 120_000;
    await runOccurrence(t.db, job, { scheduledFor: new Date(at), trigger: 'schedule', replica: 'a:1', logger: silent, settings });
    await runOccurrence(t.db, job, { scheduledFor: new Date(at + 60_000), trigger: 'schedule', replica: 'a:1', logger: silent, settings });
    expect((await runsOf(t, 'flaky')).map((r) => [r.outcome, r.error])).toEqual([
      ['failed', 'TypeError: first time unlucky'],
      ['succeeded', null],
    ]);
  });

  it('inside a caller’s transaction (a run-now with an Idempotency-Key) the failure is recorded and the transaction stays usable', async () => {
    const run = await t.db.transaction().execute(async (trx) => {
      const claim = await claimRun(trx, { job: 'in-trx', trigger: 'manual', replica: 'a:1' });
      if (claim.status !== 'claimed') throw new Error(`unexpected ${claim.status}`);
      const job: JobDefinition = {
        name: 'in-trx',
        cron: '* * * * *',
        description: 'fails on a bad statement',
        handler: async ({ db }) => {
          await db.selectFrom('no_such_table' as never).selectAll().execute();
          return {};
        },
      };
      return executeRun(trx, job, claim.run, { logger: silent, settings });
    });
    expect(run).toMatchObject({ outcome: 'failed', triggered_by: 'manual' });
    expect(run.error).toMatch(/no_such_table/);
    expect((await runsOf(t, 'in-trx')).map((r) => r.outcome)).toEqual(['failed']);
  });

  it('odd throws and odd counts are recorded sensibly', async () => {
    await runOccurrence(t.db, failing('throws-string', () => 'plain string'), {
      scheduledFor: new Date(pastMinute()),
      trigger: 'schedule',
      replica: 'a:1',
      logger: silent,
      settings,
    });
    expect((await runsOf(t, 'throws-string'))[0]!.error).toBe('non-error thrown: plain string');

    const odd: JobDefinition = {
      name: 'odd-counts',
      cron: '* * * * *',
      description: 'returns junk',
      handler: async () => ({ good: 2, nan: Number.NaN, text: 'x' as unknown as number, inf: Number.POSITIVE_INFINITY }),
    };
    await runOccurrence(t.db, odd, { scheduledFor: new Date(pastMinute()), trigger: 'schedule', replica: 'a:1', logger: silent, settings });
    expect((await runsOf(t, 'odd-counts'))[0]).toMatchObject({ outcome: 'succeeded', counts: { good: 2 } });
  });
});

describe('sanitiseError', () => {
  it.each([
    [new Error('x'.repeat(5000)), (s: string) => s.length <= 1000],
    [new Error('redis://:onlypass@cache:6379 down'), (s: string) => s === 'redis://***@cache:6379 down'],
    [new Error('api_key: "abc def" token=xyz'), (s: string) => !s.includes('abc def') && !s.includes('xyz')],
    [new Error(''), (s: string) => s === 'unknown error'],
    [Object.assign(new Error('boom'), { name: 'PostgresError' }), (s: string) => s === 'PostgresError: boom'],
  ])('%#: masks, bounds and names', (err, check) => {
    expect(check(sanitiseError(err))).toBe(true);
  });
});
