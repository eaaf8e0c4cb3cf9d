import { sql } from 'kysely';
import { createApiKey } from '../../src/auth/repository.js';
import { createPerson } from '../../src/people/repository.js';
import { ensureDefaultScorecard } from '../../src/scoring/scorecards.js';
import { percentile } from '../lib/http.js';
import { seededRandom } from '../lib/random.js';
import { fmt, round, scaled } from '../lib/scale.js';
import { type RunningServer, startServer } from '../lib/server.js';
import type { Cell, Section } from '../lib/types.js';

/**
 * Issue 11: server-side render time of the web app's portfolio and account
 * pages with 100,000 scored accounts, beside GET /v1/accounts/{externalId}
 * in the same run. One request at a time (no queueing): the latency is the
 * render plus loopback. Aim: p95 under 150 ms.
 */
const ACCOUNTS = scaled(100_000, 1_000);
const OWNERS = 40;
const SNAPSHOT_DAYS = [1, 7, 14, 21, 30];
const REQUESTS = 200;
const WARMUP = 20;
const PASSWORD = 'bench-password-123';

const externalId = (n: number) => `web-${String(n).padStart(6, '0')}`;

async function seed(db: Parameters<Section['run']>[0]['db']) {
  await ensureDefaultScorecard(db);
  const card = await db.selectFrom('scorecards').select('id').where('segment_key', '=', '').orderBy('version').executeTakeFirstOrThrow();
  await sql`
    insert into accounts (external_id, name, segment, owner, retention_owner, arr, currency, renewal_date, attributes)
    select 'web-' || lpad(i::text, 6, '0'), 'Customer ' || i, (array['smb','mid-market','enterprise'])[1 + i % 3],
           'csm' || (i % ${OWNERS}) || '@example.com', 'retention' || (i % 5) || '@example.com',
           (i * 7919 % 5000000) / 10.0, (array['USD','EUR','CNY'])[1 + i % 3], current_date + (i % 365), '{}'::jsonb
      from generate_series(1, ${ACCOUNTS}) i`.execute(db);
  await sql`
    insert into health_scores (account_id, scorecard_id, score, base_score, band, coverage, raw, sub, change_seq)
    select id, ${card.id}, s, s, case when s < 40 then 'red' when s < 70 then 'yellow' else 'green' end, 0.9, '{}'::float8[], '{}'::float8[], id
      from (select id, (id * 7919 % 1000) / 10.0 as s from accounts where external_id like 'web-%') a`.execute(db);
  await sql`
    insert into health_snapshots (account_id, taken_at, reason, day, scorecard_id, score, band, coverage, raw, sub)
    select h.account_id, (current_date - d)::timestamptz, 'daily', current_date - d, h.scorecard_id,
           greatest(0, least(100, h.score + (d % 7) - 3)), h.band, h.coverage, '{}'::float8[], '{}'::float8[]
      from health_scores h cross join unnest(${SNAPSHOT_DAYS}::int[]) d`.execute(db);
  await sql`analyze`.execute(db);
}

/** Signs in through the form; returns the session cookie. */
async function signIn(url: string, email: string): Promise<string> {
  const page = await fetch(`${url}/sign-in`);
  const pre = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const res = await fetch(`${url}/sign-in`, {
    method: 'POST',
    headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, email, password: PASSWORD }),
    redirect: 'manual',
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('hs_session='));
  if (res.status !== 303 || !session) throw new Error(`sign-in failed: ${res.status}`);
  return session.split(';')[0]!;
}

async function timeRequests(url: string, headers: Record<string, string>, path: () => string, n: number) {
  const ms: number[] = [];
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await fetch(url + path(), { headers });
    await res.arrayBuffer();
    if (res.status === 200) ms.push(performance.now() - started);
    else failures++;
  }
  return { sorted: ms.sort((a, b) => a - b), failures };
}

export const web: Section = {
  name: 'web',
  async run(ctx) {
    const seedStarted = performance.now();
    await seed(ctx.db);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    ctx.log(`seeded ${fmt(ACCOUNTS)} scored accounts with ${SNAPSHOT_DAYS.length} daily snapshots each in ${seedSeconds.toFixed(1)} s`);
    await createPerson(ctx.db, { email: 'bench-manager@example.com', name: 'Bench manager', roles: ['manager'], password: PASSWORD });
    await createPerson(ctx.db, { email: 'csm1@example.com', name: 'Bench CSM', roles: ['csm'], password: PASSWORD });
    const { key } = await createApiKey(ctx.db, 'bench-web', ['read']);
    const random = seededRandom(11);
    const anyAccount = () => externalId(1 + Math.floor(random() * ACCOUNTS));

    let server: RunningServer | undefined;
    try {
      server = await startServer('service', { BENCH_DATABASE_URL: ctx.databaseUrl });
      const manager = { cookie: await signIn(server.url, 'bench-manager@example.com') };
      const csm = { cookie: await signIn(server.url, 'csm1@example.com') };
      const api = { authorization: `Bearer ${key}` };
      const targets: { label: string; headers: Record<string, string>; path: () => string }[] = [
        { label: 'portfolio, all accounts, lowest score first (manager)', headers: manager, path: () => '/portfolio' },
        { label: 'portfolio, highest ARR first (manager)', headers: manager, path: () => '/portfolio?sort=arr' },
        { label: `portfolio, own ${fmt(ACCOUNTS / OWNERS)} accounts (CSM)`, headers: csm, path: () => '/portfolio' },
        { label: 'account 360 page', headers: manager, path: () => `/accounts/${anyAccount()}` },
        { label: 'GET /v1/accounts/{externalId}', headers: api, path: () => `/v1/accounts/${anyAccount()}` },
      ];
      const rows: Cell[][] = [];
      for (const t of targets) {
        await timeRequests(server.url, t.headers, t.path, WARMUP);
        const { sorted, failures } = await timeRequests(server.url, t.headers, t.path, REQUESTS);
        ctx.log(`${t.label}: p95 ${percentile(sorted, 0.95).toFixed(1)} ms`);
        rows.push([t.label, round(percentile(sorted, 0.5), 1), round(percentile(sorted, 0.95), 1), round(percentile(sorted, 0.99), 1), failures]);
      }
      return {
        tables: [{ title: `Server-side render, ${fmt(ACCOUNTS)} accounts, one request at a time`, columns: ['page', 'p50 ms', 'p95 ms', 'p99 ms', 'failures'], rows }],
        notes: [
          `${fmt(ACCOUNTS)} accounts with a health score and ${SNAPSHOT_DAYS.length} daily snapshots each, inserted in SQL (${seedSeconds.toFixed(1)} s); ${OWNERS} owners.`,
          `${REQUESTS} requests per row after ${WARMUP} of warm-up, sequential over one keep-alive connection; latency as the client sees it (render plus loopback). Aim: p95 under 150 ms.`,
          'Pages are those of a signed-in person (session cookie); the API row uses a read key.',
        ],
      };
    } finally {
      await server?.stop();
    }
  },
};
