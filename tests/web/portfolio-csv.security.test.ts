import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoPeople } from '../../src/people/demo.js';
import { HEALTHY, makeAccount, setScore } from '../alerts/fixtures.js';
import { Client, emailOf, PASSWORD, startWebServer, type WebServer } from './support.js';

/**
 * Defect 3 of #12 in the web app: /portfolio.csv is written by the same
 * maintained writer as the API export (src/http/csv.ts), so names, ids, owners
 * and segments a CRM sent never run as spreadsheet formulas.
 */

let server: WebServer;
const dangerous = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1', 'plain', 'with,comma', 'with "quotes"', 'line\nbreak'];
const neutralised = (text: string) => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);

beforeAll(async () => {
  server = await startWebServer();
  await createDemoPeople(server.db, PASSWORD);
  for (const [i, text] of dangerous.entries()) {
    const id = await makeAccount(server.db, { externalId: `${text}#${i}` });
    await server.db.updateTable('accounts').set({ name: text, segment: text, owner: text }).where('id', '=', id).execute();
    await setScore(server.db, id, 80, 'green', HEALTHY);
  }
});
afterAll(() => server?.close());

describe('GET /portfolio.csv', () => {
  it('neutralises every formula-looking cell and quotes what needs quoting', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('manager'));
    const res = await fetch(`${server.url}/portfolio.csv?sort=name`, { headers: { cookie: client.cookieHeader() } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const records = parse(await res.text(), { relax_column_count: false }) as string[][];
    expect(records[0]).toEqual(['externalId', 'name', 'segment', 'owner', 'arr', 'currency', 'score', 'band', 'trend7', 'trend30', 'coverage', 'renewalDate', 'openAlerts', 'nextFollowUp']);
    const rows = records.slice(1);
    expect(rows).toHaveLength(dangerous.length);
    for (const row of rows) for (const cell of row) expect(cell, JSON.stringify(row)).not.toMatch(/^[=+\-@\t\r]/);
    expect(rows.map((r) => r[1]).sort()).toEqual(dangerous.map(neutralised).sort());
    expect(rows.map((r) => r[0]).sort()).toEqual(dangerous.map((d, i) => neutralised(`${d}#${i}`)).sort());
    expect(rows.every((r) => r[6] === '80')).toBe(true);
  });
});
