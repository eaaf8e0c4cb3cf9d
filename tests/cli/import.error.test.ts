import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertAccounts } from '../../src/accounts/repository.js';
import { type CliDatabase, createCliDatabase } from './cli-database.js';

let t: CliDatabase;

async function csv(name: string, lines: string[]) {
  const path = join(t.dir, name);
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

const summary = (output: string) => {
  const m = /(\d+) rows in [\d.]+ s \(\d+ rows\/s\): (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) stale, (\d+) errors/.exec(output);
  if (!m) throw new Error(`no summary in:\n${output}`);
  const [rows, created, updated, unchanged, stale, error] = m.slice(1).map(Number);
  return { rows, created, updated, unchanged, stale, error };
};

/** The error report as objects (its own header names the columns). */
const report = async (file: string) => parse(await readFile(`${file}.errors.csv`, 'utf8'), { columns: true }) as Record<string, string>[];

beforeAll(async () => {
  t = await createCliDatabase();
  await t.query((db) => upsertAccounts(db, [{ externalId: 'acme', name: 'Acme' }]));
});
afterAll(() => t.close());

// Line numbers are the file's own (the header is line 1).
const BAD_USAGE = [
  'eventId,account,occurredAt,metric,quantity,userId',
  'ok-1,acme,2025-03-01T09:00:00Z,login,1,ana',
  'bad-qty,acme,2025-03-01T09:00:00Z,login,lots,ana',
  'bad-time,acme,yesterday,login,1,ana',
  'who,nobody,2025-03-01T09:00:00Z,login,1,ana',
  'short,acme,2025-03-01T09:00:00Z',
  'ok-2,acme,2025-03-01T10:00:00Z,login,2,ben',
  'quote,acme,2025-03-01T10:00:00Z,log"in,1,ben',
  'negative,acme,2025-03-01T10:00:00Z,login,-5,ben',
  'ok-3,acme,2025-03-01T11:00:00Z,"multi',
  'line metric",1,ben',
  ',acme,2025-03-01T11:00:00Z,login,1,ben',
  'ok-4,acme,2025-03-01T12:00:00Z,login,1,"cara',
];

// Each test runs the CLI in child processes, several times: slow on a busy 2-core machine.
describe('npm run cli -- import, with bad rows', { timeout: 180_000 }, () => {
  let file: string;

  it('stores the good rows and reports each bad one with its line, id, field and reason', async () => {
    file = await csv('usage.csv', BAD_USAGE);
    const run = await t.cli('import', 'usage', file);
    expect(run.code, run.output).toBe(0);
    expect(summary(run.output)).toEqual({ rows: 11, created: 3, updated: 0, unchanged: 0, stale: 0, error: 8 });
    expect(run.output).toContain(`see ${file}.errors.csv`);

    const rows = await report(file);
    expect(rows.map((r) => [r.line, r.id, r.field])).toEqual([
      ['3', 'bad-qty', 'quantity'],
      ['4', 'bad-time', 'occurredAt'],
      ['5', 'who', 'account'],
      ['6', '', '(line)'],
      ['8', '', '(line)'],
      ['9', 'negative', 'quantity'],
      ['12', '', 'eventId'],
      ['13', '', '(line)'],
    ]);
    expect(rows[0]!.message).toBe('must be a number, got "lots"');
    expect(rows[2]!.message).toBe('unknown account nobody');
    expect(rows[3]!.message).toMatch(/^malformed CSV: .*expect 6, got 3/);
    expect(rows[4]!.message).toMatch(/^malformed CSV: .*quote/i);
    expect(rows[7]!.message).toMatch(/^malformed CSV: .*quote not closed/i);

    const stored = await t.query((db) => db.selectFrom('usage_events').select(['event_id', 'metric']).orderBy('event_id').execute());
    expect(stored).toEqual([
      { event_id: 'ok-1', metric: 'login' },
      { event_id: 'ok-2', metric: 'login' },
      { event_id: 'ok-3', metric: 'multi\nline metric' },
    ]);
    const nobody = await t.query((db) => db.selectFrom('accounts').select('id').where('external_id', '=', 'nobody').execute());
    expect(nobody).toEqual([]);
  });

  it('rewrites the report on a re-run, and removes it once the file is clean', async () => {
    const again = await t.cli('import', 'usage', file);
    expect(again.code, again.output).toBe(0);
    expect(summary(again.output)).toEqual({ rows: 11, created: 0, updated: 0, unchanged: 3, stale: 0, error: 8 });
    expect(await report(file)).toHaveLength(8);

    await writeFile(file, [BAD_USAGE[0], BAD_USAGE[1], BAD_USAGE[6], 'ok-4,acme,2025-03-01T12:00:00Z,login,1,cara'].join('\n'));
    const clean = await t.cli('import', 'usage', file);
    expect(clean.code, clean.output).toBe(0);
    expect(summary(clean.output)).toEqual({ rows: 3, created: 1, updated: 0, unchanged: 2, stale: 0, error: 0 });
    expect(existsSync(`${file}.errors.csv`)).toBe(false);
  });

  it('explains values that are not booleans, numbers or allowed words', async () => {
    const tickets = await csv('tickets.csv', [
      'ticketId,account,status,priority,openedAt,updatedAt,escalated,reopenCount',
      'T-1,acme,open,high,2025-03-01T09:00:00Z,2025-03-01T09:00:00Z,maybe,0',
      'T-2,acme,archived,high,2025-03-01T09:00:00Z,2025-03-01T09:00:00Z,no,1.5',
      'T-3,acme,open,high,2025-03-01T09:00:00Z,2025-03-01T09:00:00Z,no,0',
    ]);
    const run = await t.cli('import', 'tickets', tickets);
    expect(run.code, run.output).toBe(0);
    expect(summary(run.output)).toMatchObject({ rows: 3, created: 1, error: 2 });
    const rows = await report(tickets);
    expect(rows.map((r) => [r.line, r.id, r.field])).toEqual([
      ['2', 'T-1', 'escalated'],
      ['3', 'T-2', 'status'],
      ['3', 'T-2', 'reopenCount'],
    ]);
    expect(rows[0]!.message).toBe('must be true or false (or 1/0, yes/no), got "maybe"');
  });

  it('exits 1 without touching anything when it cannot start', async () => {
    const missing = await t.cli('import', 'usage', join(t.dir, 'nope.csv'));
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('no such file');
    expect(existsSync(join(t.dir, 'nope.csv.errors.csv'))).toBe(false);

    const kind = await t.cli('import', 'invoices', file);
    expect(kind.code).toBe(1);
    expect(kind.output).toContain('unknown kind "invoices"');

    const noArgs = await t.cli('import');
    expect(noArgs.code).toBe(1);
    expect(noArgs.output).toContain('import <usage|tickets|surveys|contracts> FILE.csv');

    const header = await csv('no-metric.csv', ['eventId,account,occurredAt', 'x,acme,2025-03-01T09:00:00Z']);
    const columns = await t.cli('import', 'usage', header);
    expect(columns.code).toBe(1);
    expect(columns.output).toContain('lacks required column metric');
    expect(existsSync(`${header}.errors.csv`)).toBe(false);
  });
});
