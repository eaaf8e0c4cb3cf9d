import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raiseAlerts } from '../../src/alerts/index.js';
import { generateDemo } from '../../src/demo/generate.js';
import { createDemoPeople } from '../../src/people/demo.js';
import { recompute } from '../../src/scoring/recompute.js';
import { startTestServer, type TestServer } from '../support/server.js';

process.env.HEALTHSCORE_BCRYPT_COST ??= '4';

/**
 * Erasure of one account leaves no row of it in any table: the test reads
 * every table (and partition) with an account column from
 * information_schema itself, so a table added later is covered too.
 */
let s: TestServer;
let target: { id: number; external_id: string };
let other: { id: number; external_id: string };

beforeAll(async () => {
  s = await startTestServer();
  await generateDemo(s.db, { accounts: 12, seed: 25 });
  // Subscribed, so events about the accounts are stored with payloads.
  const sub = await s.call('POST', '/v1/webhooks/subscriptions', { body: { url: 'https://example.com/hook', eventTypes: ['health.band_changed', 'churn_risk.opened', 'follow_up.created', 'account.erased'] } });
  expect(sub.status).toBe(201);
  await recompute(s.db, { accountIds: null, refreshDistributions: true, after: raiseAlerts });
  const rows = await s.db
    .selectFrom('accounts as a')
    .select(['a.id', 'a.external_id', sql<number>`(select count(*) from alerts x where x.account_id = a.id)::int`.as('alerts')])
    .orderBy(sql`(select count(*) from alerts x where x.account_id = a.id)`, 'desc')
    .orderBy('a.id')
    .execute();
  target = rows[0]!;
  other = rows[1]!;
}, 120_000);
afterAll(() => s?.close());

/** Every table, partitions included, with a column that names an account (read here, not from the service). */
async function accountColumns() {
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    select c.table_name, c.column_name
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
     where c.table_schema = current_schema() and (c.column_name like '%account_id' or (c.table_name = 'accounts' and c.column_name = 'id'))
     order by 1, 2`.execute(s.db);
  return rows;
}

async function rowsOf(accountId: number) {
  const out: Record<string, number> = {};
  for (const { table_name, column_name } of await accountColumns()) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.id(table_name)} where ${sql.id(column_name)} = ${accountId}`.execute(s.db);
    if (rows[0]!.n > 0) out[`${table_name}.${column_name}`] = rows[0]!.n;
  }
  return out;
}

/** The status, with the body read (an unread body can leave the connection in a state the next request trips on). */
const statusOf = async (response: Promise<Response>) => {
  const res = await response;
  await res.text();
  return res.status;
};

describe('erasure and export of one account', () => {
  it('exports every table that holds the account, as JSON', async () => {
    const res = await s.call('GET', `/v1/accounts/${encodeURIComponent(target.external_id)}/export`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tables: Record<string, unknown[]> };
    const held = await rowsOf(target.id);
    for (const key of Object.keys(held)) {
      const table = key.split('.')[0]!;
      // Partitions are exported through their parent.
      const parent = table.replace(/_(default|p\d{4}_\d{2})$/, '');
      expect(body.tables[table] ?? body.tables[parent], key).toBeDefined();
    }
    expect(body.tables.accounts).toHaveLength(1);
    expect(body.tables.health_scores!.length).toBeGreaterThan(0);
    expect(body.tables.health_snapshots!.length).toBeGreaterThan(0);
    expect(body.tables.webhook_events!.length).toBeGreaterThan(0);
  });

  it('needs the admin scope', async () => {
    const write = await s.keyWith('write');
    expect(await statusOf(s.call('DELETE', `/v1/accounts/${encodeURIComponent(target.external_id)}?erase=true`, { key: write }))).toBe(403);
    expect(await statusOf(s.call('GET', `/v1/accounts/${encodeURIComponent(target.external_id)}/export`, { key: write }))).toBe(403);
    expect(await rowsOf(target.id)).not.toEqual({});
  });

  it('leaves no row of the account in any table, keeps the others, and tells subscribers', async () => {
    const before = await rowsOf(target.id);
    expect(Object.keys(before).length).toBeGreaterThan(5);
    const otherBefore = await rowsOf(other.id);
    const res = await s.call('DELETE', `/v1/accounts/${encodeURIComponent(target.external_id)}?erase=true`);
    expect(res.status).toBe(200);
    expect(await rowsOf(target.id)).toEqual({});
    expect(await rowsOf(other.id)).toEqual(otherBefore);
    // No outgoing payload mentions it, but the notice of its erasure.
    const events = await s.db.selectFrom('webhook_events').select(['type', 'payload']).execute();
    const mentioning = events.filter((e) => JSON.stringify(e.payload).includes(JSON.stringify(target.external_id)));
    expect(mentioning.map((e) => e.type)).toEqual(['account.erased']);
    const deliveries = await s.db.selectFrom('webhook_deliveries as d').innerJoin('webhook_events as e', 'e.id', 'd.event_id').select('e.type').where('e.type', '=', 'account.erased').execute();
    expect(deliveries).toHaveLength(1);
    // The audit entry keeps counts, not the account's name or id from the CRM.
    const audit = await s.db.selectFrom('audit_log').selectAll().where('action', '=', 'account.erased').execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0])).not.toContain(target.external_id);
    expect(await statusOf(s.call('GET', `/v1/accounts/${encodeURIComponent(target.external_id)}`))).toBe(404);
    expect(await statusOf(s.call('DELETE', `/v1/accounts/${encodeURIComponent(target.external_id)}?erase=true`))).toBe(404);
  });

  it('erases a person: exported first, then their work back to the pools and their address gone', async () => {
    const { people } = await createDemoPeople(s.db, 'correct horse battery');
    const csm = people.find((p) => p.role === 'csm')!.email;
    const owned = await s.db.selectFrom('accounts').select('id').where('owner', '=', csm).execute();
    expect(owned.length).toBeGreaterThan(0);
    const exported = await s.call('GET', `/v1/people/${encodeURIComponent(csm)}/export`);
    expect(exported.status).toBe(200);
    const data = (await exported.json()) as { tables: Record<string, unknown[]> };
    expect(data.tables['accounts.owner']!.length).toBe(owned.length);
    expect(JSON.stringify(data)).not.toMatch(/password_hash|\$2[aby]\$/);
    expect(await statusOf(s.call('DELETE', `/v1/people/${encodeURIComponent(csm)}`))).toBe(400);
    const res = await s.call('DELETE', `/v1/people/${encodeURIComponent(csm)}?erase=true`);
    expect(res.status).toBe(200);
    expect(await s.db.selectFrom('people').select('id').where('email', '=', csm).execute()).toHaveLength(0);
    expect(await s.db.selectFrom('accounts').select('id').where('owner', '=', csm).execute()).toHaveLength(0);
    expect(await s.db.selectFrom('alerts').select('id').where('assignee', '=', csm).execute()).toHaveLength(0);
    expect(await s.db.selectFrom('follow_ups').select('id').where('assignee', '=', csm).execute()).toHaveLength(0);
  });
});
