import { upsertAccounts } from '../../src/accounts/repository.js';
import type { AccountInput } from '../../src/accounts/schemas.js';
import { createApiKey } from '../../src/auth/repository.js';
import { compareEvenRate } from '../lib/even-rate.js';
import { compare, type LoadFigures, type Target, warmUp } from '../lib/load.js';
import { pick, seededRandom } from '../lib/random.js';
import { type RunningServer, startServer } from '../lib/server.js';
import type { Cell, Section } from '../lib/types.js';

const ACCOUNTS = 10_000;
const CHUNK = 1_000;
const CONNECTIONS = 50;
const DURATION_SECONDS = 10;
const WARMUP_SECONDS = 3;
const ROUNDS = 5;
const FIXED_RATE = 1_000;
const FIXED_RATE_CONNECTIONS = 10;
const SERVICE_LABEL = 'GET /v1/accounts/{externalId}';
const BARE_LABEL = 'bare Hono GET /x';

const externalId = (n: number) => `acct-${String(n).padStart(5, '0')}`;

function fakeAccount(n: number, random: () => number): AccountInput {
  return {
    externalId: externalId(n),
    name: `Customer ${n} ${pick(random, ['GmbH', 'Inc.', 'Ltd', 'SAS', 'BV'])}`,
    segment: pick(random, ['smb', 'mid-market', 'enterprise']),
    tier: pick(random, ['bronze', 'silver', 'gold']),
    owner: `csm${Math.floor(random() * 40)}@example.com`,
    retentionOwner: `retention${Math.floor(random() * 5)}@example.com`,
    seats: Math.floor(random() * 2_000),
    arr: Math.round(random() * 50_000_000) / 100,
    currency: pick(random, ['USD', 'EUR', 'GBP']),
    timezone: pick(random, ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo']),
    lifecycleStage: pick(random, ['onboarding', 'adoption', 'renewal']),
    renewalDate: `2027-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-15`,
    attributes: { industry: pick(random, ['saas', 'retail', 'health']), region: pick(random, ['emea', 'amer', 'apac']) },
  };
}

const row = (target: string, f: LoadFigures): Cell[] => [
  target,
  Math.round(f.requestsPerSecond),
  round(f.p50Ms, 2),
  round(f.p99Ms, 2),
  f.failures,
];
const ratioRow = (service: LoadFigures, bare: LoadFigures): Cell[] => [
  'ratio service / bare',
  round(service.requestsPerSecond / bare.requestsPerSecond, 3),
  round(service.p50Ms / bare.p50Ms, 2),
  round(service.p99Ms / bare.p99Ms, 2),
  null,
];
const round = (value: number, digits: number) => Number(value.toFixed(digits));

export const accounts: Section = {
  name: 'accounts',
  async run(ctx) {
    const random = seededRandom(1);
    const seedStarted = performance.now();
    for (let start = 1; start <= ACCOUNTS; start += CHUNK) {
      const chunk = Array.from({ length: Math.min(CHUNK, ACCOUNTS - start + 1) }, (_, i) => fakeAccount(start + i, random));
      await upsertAccounts(ctx.db, chunk);
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    ctx.log(`seeded ${ACCOUNTS.toLocaleString('en-US')} accounts in ${seedSeconds.toFixed(1)} s`);
    const { key } = await createApiKey(ctx.db, 'bench', ['read']);

    const servers: RunningServer[] = [];
    try {
      const service = await startServer('service', { BENCH_DATABASE_URL: ctx.databaseUrl });
      servers.push(service);
      const bare = await startServer('bare', {});
      servers.push(bare);
      const serviceTarget: Target = {
        url: service.url,
        headers: { authorization: `Bearer ${key}` },
        path: () => `/v1/accounts/${externalId(1 + Math.floor(random() * ACCOUNTS))}`,
      };
      const bareTarget: Target = { url: bare.url, path: () => '/x' };
      await expectOk(serviceTarget);
      await expectOk(bareTarget);

      const closedLoop = { connections: CONNECTIONS, durationSeconds: DURATION_SECONDS };
      ctx.log(`warm-up, ${WARMUP_SECONDS} s each`);
      await warmUp([serviceTarget, bareTarget], { ...closedLoop, durationSeconds: WARMUP_SECONDS });
      ctx.log(`closed loop, ${ROUNDS} alternating rounds`);
      const closed = await compare(serviceTarget, bareTarget, closedLoop, ROUNDS);
      ctx.log(`even rate ${FIXED_RATE.toLocaleString('en-US')} req/s, ${ROUNDS} alternating rounds`);
      const fixed = await compareEvenRate(serviceTarget, bareTarget, FIXED_RATE, DURATION_SECONDS, FIXED_RATE_CONNECTIONS, ROUNDS);

      const columns = ['target', 'req/s', 'p50 ms', 'p99 ms', 'failures'];
      return {
        tables: [
          {
            title: `Closed loop: ${CONNECTIONS} connections, ${DURATION_SECONDS} s`,
            columns,
            rows: [row(SERVICE_LABEL, closed.a), row(BARE_LABEL, closed.b), ratioRow(closed.a, closed.b)],
          },
          {
            title: `Even rate: ${FIXED_RATE.toLocaleString('en-US')} req/s, one request every ${(1000 / FIXED_RATE).toFixed(1)} ms, up to ${FIXED_RATE_CONNECTIONS} connections, ${DURATION_SECONDS} s (aim: p99 under 10 ms)`,
            columns,
            rows: [row(SERVICE_LABEL, fixed.a), row(BARE_LABEL, fixed.b), ratioRow(fixed.a, fixed.b)],
          },
        ],
        notes: [
          `${ACCOUNTS.toLocaleString('en-US')} accounts seeded through upsertAccounts in chunks of ${CHUNK} (${seedSeconds.toFixed(1)} s); ids requested uniformly at random.`,
          `Each target ran ${DURATION_SECONDS} s per table, in ${ROUNDS} rounds alternating with the other target, after a ${WARMUP_SECONDS} s closed-loop warm-up.`,
          `Closed-loop req/s ratio per round: ${closed.roundRatios.map((r) => r.toFixed(3)).join(', ')}.`,
          `Even rate: an open-loop client (bench/lib/even-rate.ts, undici) sends request i at start + i/rate whatever the earlier ones did, and measures each latency from that due time, so a client or server that falls behind shows in the figures (no coordinated omission). p50 is the median round's, p99 the worst round's; per round, service p99 ms: ${fixed.roundP99.map((p) => p.toFixed(2)).join(', ')}.`,
        ],
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};

async function expectOk(target: Target) {
  const response = await fetch(target.url + target.path(), { headers: target.headers ?? {} });
  if (!response.ok) throw new Error(`${target.url} answered ${response.status}: ${await response.text()}`);
}
