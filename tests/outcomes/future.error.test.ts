import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUTURE_MESSAGE } from '../../src/http/schemas.js';
import { importCsv } from '../../src/signals/csv-import.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * An outcome dated in the future is not an outcome yet: every route that
 * takes one refuses it with the same words (the batch API, the CSV import,
 * and a contract whose change is dated ahead), while today and tomorrow (a
 * day of slack for time zones) pass.
 */
let s: TestServer;
let dir: string;
const DAY = 86_400_000;
const dayFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

interface ItemResult {
  result: string;
  errors?: { field: string; message: string }[];
}
const batch = async (path: string, items: unknown[]) => {
  const res = await s.call('POST', path, { body: { items } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { results: ItemResult[] }).results;
};

beforeAll(async () => {
  s = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'future-outcomes-'));
  await batch('/v1/accounts/batch', [{ externalId: 'acme', name: 'Acme' }]);
});
afterAll(async () => {
  await s?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('outcomes dated in the future', () => {
  it('POST /v1/outcomes/batch refuses one 90 days ahead, and takes today and tomorrow', async () => {
    const results = await batch('/v1/outcomes/batch', [
      { outcomeId: 'o-future', account: 'acme', kind: 'churned', occurredOn: dayFromNow(90) },
      { outcomeId: 'o-today', account: 'acme', kind: 'renewed', occurredOn: dayFromNow(0) },
      { outcomeId: 'o-tomorrow', account: 'acme', kind: 'renewed', occurredOn: dayFromNow(1) },
    ]);
    expect(results[0]).toMatchObject({ result: 'error', errors: [{ field: 'occurredOn', message: FUTURE_MESSAGE }] });
    expect(results.slice(1).map((r) => r.result)).toEqual(['created', 'created']);
    const stored = await s.db.selectFrom('outcomes').select('outcome_key').where('outcome_key', '=', 'o-future').execute();
    expect(stored).toEqual([]);
  });

  it('the CSV import refuses it with the same message in its error report', async () => {
    const file = join(dir, 'outcomes.csv');
    await writeFile(file, ['outcomeId,account,kind,occurredOn', `c-future,acme,churned,${dayFromNow(90)}`, `c-past,acme,renewed,${dayFromNow(-30)}`].join('\n') + '\n');
    const result = await importCsv(s.db, 'outcomes', file);
    expect(result.counts).toMatchObject({ created: 1, error: 1 });
    const report = parse(await readFile(result.errorFile!, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(report).toEqual([{ line: '2', id: 'c-future', field: 'occurredOn', message: FUTURE_MESSAGE }]);
  });

  it('a contract whose change is dated ahead (which would date its outcome) is refused with the same message', async () => {
    const results = await batch('/v1/contracts/batch', [
      { contractId: 'k-1', account: 'acme', startDate: dayFromNow(-300), endDate: dayFromNow(90), arr: 1000, status: 'churned', updatedAt: `${dayFromNow(90)}T00:00:00Z` },
    ]);
    expect(results[0]).toMatchObject({ result: 'error', errors: [{ field: 'updatedAt', message: FUTURE_MESSAGE }] });
    // Without a change date, a churned contract's outcome is dated when it arrives: never ahead.
    await batch('/v1/contracts/batch', [{ contractId: 'k-2', account: 'acme', startDate: dayFromNow(-300), endDate: dayFromNow(90), arr: 1000, status: 'churned' }]);
    const outcome = await s.db.selectFrom('outcomes').select('occurred_on').where('outcome_key', '=', 'contract:k-2').executeTakeFirstOrThrow();
    expect(String(outcome.occurred_on) <= dayFromNow(0)).toBe(true);
  });
});
