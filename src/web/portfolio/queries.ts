import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import { decodeKeyset, encodeKeyset } from '../../http/cursor.js';

type Db = Kysely<Database>;

export const SORTS = ['score', 'arr', 'renewal', 'name'] as const;
export type Sort = (typeof SORTS)[number];
export const BANDS = ['red', 'yellow', 'green', 'none'] as const;

export interface PortfolioFilter {
  q?: string;
  band?: (typeof BANDS)[number];
  segment?: string;
  owner?: string;
  sort: Sort;
}

const ORDER: Record<Sort, { expr: RawBuilder<unknown>; cast: string; desc: boolean }> = {
  score: { expr: sql`coalesce(h.score, 1000)::float8`, cast: 'float8', desc: false },
  arr: { expr: sql`coalesce(a.arr, -1)::float8`, cast: 'float8', desc: true },
  renewal: { expr: sql`coalesce(a.renewal_date::text, '9999-12-31')`, cast: 'text', desc: false },
  name: { expr: sql`a.name`, cast: 'text', desc: false },
};

function where(filter: PortfolioFilter) {
  const parts: RawBuilder<unknown>[] = [sql`a.archived_at is null`];
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    parts.push(sql`(a.name ilike ${like} or a.external_id ilike ${like})`);
  }
  if (filter.band === 'none') parts.push(sql`h.band is null`);
  else if (filter.band) parts.push(sql`h.band = ${filter.band}`);
  if (filter.segment) parts.push(sql`a.segment = ${filter.segment}`);
  if (filter.owner) parts.push(sql`a.owner = ${filter.owner}`);
  return sql.join(parts, sql` and `);
}

export interface PortfolioRow {
  id: number;
  external_id: string;
  name: string;
  segment: string | null;
  owner: string | null;
  arr: number | null;
  currency: string | null;
  renewal_date: string | null;
  score: number | null;
  band: string | null;
  coverage: number | null;
  sort_value: number | string;
}

export interface PortfolioItem extends PortfolioRow {
  spark: (number | null)[];
  trend7: number | null;
  trend30: number | null;
  openAlerts: number;
  nextFollowUp: Date | null;
}

export const encodePortfolioCursor = (row: { sort_value: number | string; id: number }) => encodeKeyset([row.sort_value, row.id]);

/** A cursor we did not issue starts over at the first page. */
export const decodePortfolioCursor = (cursor: string | undefined): [number | string, number] | undefined =>
  cursor ? decodeKeyset(cursor, ['scalar', 'int']) : undefined;

/** One keyset page of accounts in the chosen order. */
export async function portfolioPage(db: Db, filter: PortfolioFilter, after: [number | string, number] | undefined, limit: number) {
  const order = ORDER[filter.sort];
  const keyset = after
    ? order.desc
      ? sql`and (${order.expr}, a.id) < (${after[0]}::${sql.raw(order.cast)}, ${after[1]}::bigint)`
      : sql`and (${order.expr}, a.id) > (${after[0]}::${sql.raw(order.cast)}, ${after[1]}::bigint)`
    : sql``;
  const dir = sql.raw(order.desc ? 'desc' : 'asc');
  const { rows } = await sql<PortfolioRow>`
    select a.id, a.external_id, a.name, a.segment, a.owner, a.arr, a.currency, a.renewal_date,
           h.score, h.band, h.coverage, ${order.expr} as sort_value
      from accounts a
      left join health_scores h on h.account_id = a.id
     where ${where(filter)} ${keyset}
     order by ${order.expr} ${dir}, a.id ${dir}
     limit ${limit + 1}`.execute(db);
  const page = rows.slice(0, limit);
  return { items: await enrich(db, page), next: rows.length > limit ? encodePortfolioCursor(page.at(-1)!) : null };
}

const isoDay = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().slice(0, 10);

/** Trend, sparkline, open alerts and next follow-up for a page of accounts (four set-based queries). */
async function enrich(db: Db, rows: PortfolioRow[]): Promise<PortfolioItem[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const since = isoDay(31 * 86400e3);
  const [snaps, alerts, followUps] = await Promise.all([
    sql<{ account_id: number; day: string; score: number | null }>`
      select account_id, day, score from health_snapshots
       where account_id = any(${ids}::bigint[]) and reason = 'daily' and day >= ${since}::date
       order by account_id, day`.execute(db),
    sql<{ account_id: number; n: number }>`
      select account_id, count(*)::int as n from alerts
       where account_id = any(${ids}::bigint[]) and status <> 'resolved' group by account_id`.execute(db),
    sql<{ account_id: number; due: Date }>`
      select account_id, min(due_at) as due from follow_ups
       where account_id = any(${ids}::bigint[]) and status = 'scheduled' group by account_id`.execute(db),
  ]);
  const byAccount = new Map<number, { day: string; score: number | null }[]>();
  for (const s of snaps.rows) {
    let list = byAccount.get(s.account_id);
    if (!list) byAccount.set(s.account_id, (list = []));
    list.push(s);
  }
  const alertCount = new Map(alerts.rows.map((r) => [r.account_id, r.n]));
  const next = new Map(followUps.rows.map((r) => [r.account_id, new Date(r.due)]));
  const d7 = isoDay(7 * 86400e3);
  const d30 = isoDay(30 * 86400e3);
  return rows.map((r) => {
    const list = byAccount.get(r.id) ?? [];
    const at = (day: string) => [...list].reverse().find((s) => s.day <= day)?.score ?? null;
    const trend = (past: number | null) => (past === null || r.score === null ? null : Math.round((r.score - past) * 10) / 10);
    return {
      ...r,
      spark: [...list.map((s) => s.score), r.score],
      trend7: trend(at(d7)),
      trend30: trend(at(d30)),
      openAlerts: alertCount.get(r.id) ?? 0,
      nextFollowUp: next.get(r.id) ?? null,
    };
  });
}

/** Accounts and ARR per band, and ARR at risk (red) per currency, over the filtered set. */
export async function portfolioSummary(db: Db, filter: PortfolioFilter) {
  const { rows } = await sql<{ band: string; currency: string | null; n: number; arr: number | null }>`
    select coalesce(h.band, 'none') as band, a.currency, count(*)::int as n, sum(a.arr)::float8 as arr
      from accounts a left join health_scores h on h.account_id = a.id
     where ${where(filter)}
     group by 1, 2`.execute(db);
  const bands: Record<string, number> = { red: 0, yellow: 0, green: 0, none: 0 };
  const atRisk = new Map<string, number>();
  for (const r of rows) {
    bands[r.band] = (bands[r.band] ?? 0) + r.n;
    if (r.band === 'red' && r.arr) atRisk.set(r.currency ?? 'USD', (atRisk.get(r.currency ?? 'USD') ?? 0) + r.arr);
  }
  const total = Object.values(bands).reduce((a, b) => a + b, 0);
  return { bands, total, atRisk: [...atRisk.entries()].sort((a, b) => b[1] - a[1]) };
}

/** The filter choices change rarely: kept a minute per database handle (on Workers, a handle lives one request). */
const CHOICES_TTL_MS = 60_000;
const choices = new WeakMap<object, { at: number; value: Promise<{ segments: string[]; owners: string[] }> }>();

export function segmentsAndOwners(db: Db) {
  const hit = choices.get(db);
  if (hit && Date.now() - hit.at < CHOICES_TTL_MS) return hit.value;
  const value = loadSegmentsAndOwners(db);
  choices.set(db, { at: Date.now(), value });
  value.catch(() => choices.delete(db));
  return value;
}

async function loadSegmentsAndOwners(db: Db) {
  const [segments, owners] = await Promise.all([
    sql<{ v: string }>`select distinct segment as v from accounts where segment is not null and archived_at is null order by 1 limit 100`.execute(db),
    sql<{ v: string }>`select distinct owner as v from accounts where owner is not null and archived_at is null order by 1 limit 500`.execute(db),
  ]);
  return { segments: segments.rows.map((r) => r.v), owners: owners.rows.map((r) => r.v) };
}
