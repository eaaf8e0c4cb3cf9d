import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { HEALTHY, makeAccount, setScore } from '../alerts/fixtures.js';

/** Defect 3 of #12: ids a CRM sent must not run as spreadsheet formulas when the feed is opened in Excel. */

let s: TestServer;
const dangerous = ['=SUM(1,2)', '+1+1', '@x', '-2+3', '\tcmd', 'plain', 'with,comma', 'with "quotes"', 'line\nbreak'];

beforeAll(async () => {
  s = await startTestServer();
  for (const externalId of dangerous) {
    const id = await makeAccount(s.db, { externalId });
    await setScore(s.db, id, 80, 'green', HEALTHY);
  }
});
afterAll(() => s.close());

describe('GET /v1/health?format=csv', () => {
  it('neutralises formulas and quotes what needs quoting', async () => {
    const res = await s.call('GET', '/v1/health?format=csv&limit=100');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    const ids = rows.map((r) => r.externalId!).sort();
    for (const id of ids) expect(id).not.toMatch(/^[=+\-@\t\r]/);
    expect(ids).toEqual(
      dangerous.map((d) => (/^[=+\-@\t]/.test(d) ? `'${d}` : d)).sort(),
    );
    expect(rows.every((r) => r.score === '80')).toBe(true);
  });
});
