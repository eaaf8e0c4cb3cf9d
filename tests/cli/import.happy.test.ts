import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliDatabase, createCliDatabase } from './cli-database.js';
import { compactUsage } from '../../src/signals/usage-compaction.js';

let t: CliDatabase;
const files: Record<string, string> = {};

/** Writes a CSV into this file's scratch directory. */
async function csv(name: string, lines: string[], eol = '\n') {
  const path = join(t.dir, name);
  await writeFile(path, lines.join(eol) + eol);
  files[name] = path;
  return path;
}

const counts = (output: string) => {
  const m = /(\d+) rows in [\d.]+ s \((\d+) rows\/s\): (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) stale, (\d+) errors/.exec(output);
  if (!m) throw new Error(`no summary in:\n${output}`);
  const [rows, , created, updated, unchanged, stale, error] = m.slice(1).map(Number);
  return { rows, created, updated, unchanged, stale, error };
};

const tableCounts = () =>
  t.query(async (db) => {
    await compactUsage(db);
    const n = async (table: string) => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);
    return {
      accounts: await n('accounts'),
      usage_events: await n('usage_events'),
      usage_daily: await n('usage_daily'),
      tickets: await n('tickets'),
      survey_responses: await n('survey_responses'),
      contracts: await n('contracts'),
      contract_history: await n('contract_history'),
    };
  });

beforeAll(async () => {
  t = await createCliDatabase();
});
afterAll(() => t.close());

// Each test runs the CLI in child processes, several times: slow on a busy 2-core machine.
describe('npm run cli -- import', { timeout: 180_000 }, () => {
  // The first import creates the accounts (as placeholders) the later ones use.
  it('imports usage events in batches, converting numbers and treating empty cells as absent', async () => {
    const file = await csv('usage.csv', [
      'eventId,account,occurredAt,metric,quantity,userId',
      'ev-1,acme,2025-03-01T09:00:00Z,login,,ana@acme.example',
      'ev-2,acme,2025-03-01T10:00:00Z,report.exported,3,ana@acme.example',
      'ev-3,acme,2025-03-01T11:00:00Z,login,1,ben@acme.example',
      'ev-4,globex,2025-03-02T11:00:00+02:00,api.call,250.5,',
      'ev-5,initech,2025-03-02T12:00:00Z,login,1,sam@initech.example',
    ]);
    const run = await t.cli('import', 'usage', file, '--create-missing-accounts', '--batch-size', '2');
    expect(run.code, run.output).toBe(0);
    expect(counts(run.output)).toMatchObject({ rows: 5, created: 5, error: 0 });
    expect(existsSync(`${file}.errors.csv`)).toBe(false);

    await t.query(async (db) => {
      const events = await db
        .selectFrom('usage_events')
        .innerJoin('accounts', 'accounts.id', 'usage_events.account_id')
        .select(['event_id', 'external_id', 'metric', 'quantity', 'user_id'])
        .orderBy('event_id')
        .execute();
      expect(events).toEqual([
        { event_id: 'ev-1', external_id: 'acme', metric: 'login', quantity: 1, user_id: 'ana@acme.example' },
        { event_id: 'ev-2', external_id: 'acme', metric: 'report.exported', quantity: 3, user_id: 'ana@acme.example' },
        { event_id: 'ev-3', external_id: 'acme', metric: 'login', quantity: 1, user_id: 'ben@acme.example' },
        { event_id: 'ev-4', external_id: 'globex', metric: 'api.call', quantity: 250.5, user_id: null },
        { event_id: 'ev-5', external_id: 'initech', metric: 'login', quantity: 1, user_id: 'sam@initech.example' },
      ]);
      await compactUsage(db);
      const logins = await db
        .selectFrom('usage_daily')
        .innerJoin('accounts', 'accounts.id', 'usage_daily.account_id')
        .select(['events', 'active_users'])
        .where('external_id', '=', 'acme')
        .where('metric', '=', 'login')
        .executeTakeFirstOrThrow();
      expect(logins).toEqual({ events: 2, active_users: 2 });
      const accounts = await db.selectFrom('accounts').select(['external_id', 'attributes']).orderBy('external_id').execute();
      expect(accounts).toEqual(['acme', 'globex', 'initech'].map((id) => ({ external_id: id, attributes: { placeholder: true } })));
    });
  });

  it('imports tickets from a snake_case header with CRLF lines, a BOM and yes/no/1/0 booleans', async () => {
    const file = await csv(
      'tickets.csv',
      [
        '\uFEFFticket_id,account_id,subject,status,priority,opened_at,first_response_at,solved_at,reopen_count,escalated,sla_breached,satisfaction,updated_at',
        'T-1,acme,"Export fails, sometimes",solved,high,2025-03-01T09:00:00Z,2025-03-01T09:30:00Z,2025-03-02T09:00:00Z,1,yes,0,good,2025-03-02T09:00:00Z',
        'T-2,globex,SSO broken,open,urgent,2025-03-03T09:00:00Z,,,,,TRUE,,2025-03-03T09:00:00Z',
      ],
      '\r\n',
    );
    const run = await t.cli('import', 'tickets', file);
    expect(run.code, run.output).toBe(0);
    expect(counts(run.output)).toMatchObject({ rows: 2, created: 2, error: 0 });

    const rows = await t.query((db) =>
      db
        .selectFrom('tickets')
        .select(['ticket_id', 'subject', 'status', 'priority', 'reopen_count', 'escalated', 'sla_breached', 'satisfaction', 'first_response_at', 'solved_at'])
        .orderBy('ticket_id')
        .execute(),
    );
    expect(rows).toEqual([
      {
        ticket_id: 'T-1',
        subject: 'Export fails, sometimes',
        status: 'solved',
        priority: 'high',
        reopen_count: 1,
        escalated: true,
        sla_breached: false,
        satisfaction: 'good',
        first_response_at: new Date('2025-03-01T09:30:00Z'),
        solved_at: new Date('2025-03-02T09:00:00Z'),
      },
      {
        ticket_id: 'T-2',
        subject: 'SSO broken',
        status: 'open',
        priority: 'urgent',
        reopen_count: 0,
        escalated: false,
        sla_breached: true,
        satisfaction: null,
        first_response_at: null,
        solved_at: null,
      },
    ]);
  });

  it('imports survey responses, keeping quoted commas, quotes and line breaks', async () => {
    const file = await csv('surveys.csv', [
      'response_id,account,kind,score,comment,respondent,responded_at',
      'R-1,acme,nps,9,"Love it.',
      'Really ""great"" support, thanks",ana@acme.example,2025-03-04T10:00:00Z',
      'R-2,globex,csat,2,,,2025-03-04T11:00:00Z',
      'R-3,acme,ces,6,ok,,2025-03-05T10:00:00Z',
    ]);
    const run = await t.cli('import', 'surveys', file);
    expect(run.code, run.output).toBe(0);
    expect(counts(run.output)).toMatchObject({ rows: 3, created: 3, error: 0 });

    const rows = await t.query((db) => db.selectFrom('survey_responses').select(['response_id', 'kind', 'score', 'comment', 'respondent']).orderBy('response_id').execute());
    expect(rows).toEqual([
      { response_id: 'R-1', kind: 'nps', score: 9, comment: 'Love it.\nReally "great" support, thanks', respondent: 'ana@acme.example' },
      { response_id: 'R-2', kind: 'csat', score: 2, comment: null, respondent: null },
      { response_id: 'R-3', kind: 'ces', score: 6, comment: 'ok', respondent: null },
    ]);
  });

  it('imports contracts with their history, ignoring columns it does not know', async () => {
    const file = await csv('contracts.csv', [
      'contract_id,account,start_date,end_date,arr,currency,seats,auto_renew,status,payment_status,notes',
      'C-1,acme,2024-01-01,2024-12-31,12000.50,EUR,10,true,renewed,,first year',
      'C-2,acme,2025-01-01,2025-12-31,15000,EUR,12,true,active,overdue,',
      'C-3,globex,2025-02-01,2026-01-31,9000,,,no,active,current,',
    ]);
    const run = await t.cli('import', 'contracts', file);
    expect(run.code, run.output).toBe(0);
    expect(counts(run.output)).toMatchObject({ rows: 3, created: 3, error: 0 });
    expect(run.output).toContain('ignored column "notes"');

    await t.query(async (db) => {
      const rows = await db
        .selectFrom('contracts')
        .select(['contract_id', 'start_date', 'end_date', 'arr', 'seats', 'auto_renew', 'status', 'payment_status'])
        .select(sql<string | null>`trim(currency)`.as('currency'))
        .orderBy('contract_id')
        .execute();
      expect(rows).toEqual([
        { contract_id: 'C-1', start_date: '2024-01-01', end_date: '2024-12-31', arr: 12000.5, currency: 'EUR', seats: 10, auto_renew: true, status: 'renewed', payment_status: 'current' },
        { contract_id: 'C-2', start_date: '2025-01-01', end_date: '2025-12-31', arr: 15000, currency: 'EUR', seats: 12, auto_renew: true, status: 'active', payment_status: 'overdue' },
        { contract_id: 'C-3', start_date: '2025-02-01', end_date: '2026-01-31', arr: 9000, currency: null, seats: null, auto_renew: false, status: 'active', payment_status: 'current' },
      ]);
      const history = await db.selectFrom('contract_history').select(['contract_id', 'status']).orderBy('contract_id').execute();
      expect(history).toEqual([
        { contract_id: 'C-1', status: 'renewed' },
        { contract_id: 'C-2', status: 'active' },
        { contract_id: 'C-3', status: 'active' },
      ]);
    });
  });

  it('can be re-run: every row comes back unchanged and nothing is added', async () => {
    const before = await tableCounts();
    for (const [kind, name, rows] of [
      ['usage', 'usage.csv', 5],
      ['tickets', 'tickets.csv', 2],
      ['surveys', 'surveys.csv', 3],
      ['contracts', 'contracts.csv', 3],
    ] as const) {
      const run = await t.cli('import', kind, files[name]!, '--create-missing-accounts');
      expect(run.code, run.output).toBe(0);
      expect(counts(run.output), kind).toEqual({ rows, created: 0, updated: 0, unchanged: rows, stale: 0, error: 0 });
    }
    expect(await tableCounts()).toEqual(before);
  });

  it('plans the follow-ups what it imported calls for at once, and only once (#12)', async () => {
    const respondedAt = new Date(Date.now() - 3_600_000).toISOString();
    const file = await csv('detractors.csv', ['response_id,account,kind,score,responded_at', `R-D1,acme,nps,2,${respondedAt}`]);
    const first = await t.cli('import', 'surveys', file);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('follow-ups: 1 planned');
    const again = await t.cli('import', 'surveys', file);
    expect(again.output).toContain('follow-ups: 0 planned');
    const rows = await t.query((db) => db.selectFrom('follow_ups').select(['anchor', 'playbook_key']).execute());
    expect(rows).toEqual([{ anchor: 'survey:R-D1', playbook_key: 'nps-detractor-callback' }]);
  });
});
