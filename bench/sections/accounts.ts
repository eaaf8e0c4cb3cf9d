import { upsertAccounts } from '../../src/accounts/repository.js';
import type { AccountInput } from '../../src/accounts/schemas.js';
import { createApiKey } from '../../src/auth/repository.js';
import { type LoadFigures, type LoadOptions, load } from '../lib/load.js';
import { pick, seededRandom } from '../lib/random.js';
import { type RunningServer, startServer } from '../lib/server.js';
import type { Cell, Section } from '../lib/types.js';

const ACCOUNTS = 10_000;
const CHUNK = 1_000;
const CONNECTIONS = 50;
const DURATION_SECONDS = 10;
const WARMUP_SECONDS = 3;
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
    ctx.log(`seeded ${ACCOUNTS} accounts in ${seedSeconds.toFixed(1)} s`);
    const { key } = await createApiKey(ctx.db, 'bench', ['read']);

    const servers: RunningServer[] = [];
    try {
      const service = await startServer('service', { BENCH_DATABASE_URL: ctx.databaseUrl });
      servers.push(service);
      const bare = await startServer('bare', {});
      servers.push(bare);
      const serviceTarget = {
        url: service.url,
        headers: { authorization: `Bearer ${key}` },
        path: () => `/v1/accounts/${externalId(1 + Math.floor(random() * ACCOUNTS))}`,
      };
      const bareTarget = { url: bare.url, path: () => '/x' };
      await expectOk(serviceTarget);
      await expectOk(bareTarget);

      const run = (target: typeof bareTarget, label: string, options: Partial<LoadOptions>) => {
        ctx.log(label);
        return load({ ...target, connections: CONNECTIONS, durationSeconds: DURATION_SECONDS, ...options });
      };
      const closedService = await run(serviceTarget, 'closed loop: service', { warmupSeconds: WARMUP_SECONDS });
      const closedBare = await run(bareTarget, 'closed loop: bare', { warmupSeconds: WARMUP_SECONDS });
      const fixed = { connections: FIXED_RATE_CONNECTIONS, overallRate: FIXED_RATE };
      const fixedService = await run(serviceTarget, `${FIXED_RATE} req/s: service`, fixed);
      const fixedBare = await run(bareTarget, `${FIXED_RATE} req/s: bare`, fixed);

      const columns = ['target', 'req/s', 'p50 ms', 'p99 ms', 'failures'];
      return {
        tables: [
          {
            title: `Closed loop: ${CONNECTIONS} connections, ${DURATION_SECONDS} s`,
            columns,
            rows: [row(SERVICE_LABEL, closedService), row(BARE_LABEL, closedBare), ratioRow(closedService, closedBare)],
          },
          {
            title: `Fixed rate: ${FIXED_RATE} req/s (autocannon overallRate), ${FIXED_RATE_CONNECTIONS} connections, ${DURATION_SECONDS} s`,
            columns,
            rows: [row(SERVICE_LABEL, fixedService), row(BARE_LABEL, fixedBare), ratioRow(fixedService, fixedBare)],
          },
        ],
        notes: [
          `${ACCOUNTS} accounts seeded through upsertAccounts in chunks of ${CHUNK} (${seedSeconds.toFixed(1)} s); ids requested uniformly at random.`,
          `Closed-loop runs follow a ${WARMUP_SECONDS} s warm-up at the same concurrency; fixed-rate runs follow the closed-loop runs.`,
        ],
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};

async function expectOk(target: { url: string; path: () => string; headers?: Record<string, string> }) {
  const response = await fetch(target.url + target.path(), { headers: target.headers ?? {} });
  if (!response.ok) throw new Error(`${target.url} answered ${response.status}: ${await response.text()}`);
}
