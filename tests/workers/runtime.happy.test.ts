import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/compose/jobs.js';
import { createApiKey } from '../../src/auth/repository.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { ROOT } from '../support/process.js';
import { Receiver } from '../webhooks/outbound-receiver.js';

/**
 * #12: the Worker bundle run in workerd (Miniflare), against the PostgreSQL
 * server: API requests, every cron trigger of wrangler.toml, an outgoing
 * delivery, and settings honoured (a bad one fails loudly). Workers always use
 * a PostgreSQL server, so this runs in the server pass of the suite only.
 */
const enabled = Boolean(process.env.DATABASE_URL);

let t: TestDatabase;
let outdir: string;
let receiver: Receiver;
const instances: Miniflare[] = [];

function worker(bindings: Record<string, string>): Miniflare {
  const mf = new Miniflare({
    modulesRoot: outdir,
    modules: [
      { type: 'ESModule', path: join(outdir, 'worker.js') },
      ...readdirSync(outdir)
        .filter((f) => /\.(css|js)$/.test(f) && f !== 'worker.js')
        .map((f) => ({ type: 'Text' as const, path: join(outdir, f) })),
    ],
    compatibilityDate: '2025-09-01',
    compatibilityFlags: ['nodejs_compat'],
    bindings,
  });
  instances.push(mf);
  return mf;
}

beforeAll(async () => {
  if (!enabled) return;
  t = await createTestDatabase();
  receiver = await new Receiver().start();
  outdir = mkdtempSync(join(tmpdir(), 'hs-worker-'));
  execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    stdio: 'pipe',
  });
});
afterAll(async () => {
  await Promise.all(instances.map((mf) => mf.dispose()));
  await receiver?.stop();
  await t?.close();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const cronsOf = () => {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  return [.../crons\s*=\s*\[([^\]]*)\]/.exec(toml)![1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
};

describe.skipIf(!enabled)('the Worker in workerd', () => {
  it('answers API requests against PostgreSQL, with the settings of its bindings', async () => {
    const mf = worker({ DATABASE_URL: t.url!, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '50' });
    const { key } = await createApiKey(t.db, 'worker-test', ['admin']);
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    expect((await mf.dispatchFetch('http://localhost/readyz')).status).toBe(200);
    const put = await mf.dispatchFetch('http://localhost/v1/accounts/wk-1', { method: 'PUT', headers: auth, body: JSON.stringify({ name: 'Worker Co' }) });
    expect(put.status).toBe(201);
    const list = await mf.dispatchFetch('http://localhost/v1/accounts', { headers: auth });
    expect(list.status).toBe(200);
    // RATE_LIMIT_PER_MINUTE from the bindings, not the default.
    expect(list.headers.get('ratelimit-policy')).toBe('50;w=60');
    const unknownField = await mf.dispatchFetch('http://localhost/v1/accounts/wk-2', { method: 'PUT', headers: auth, body: JSON.stringify({ name: 'x', nmae: 'y' }) });
    expect(unknownField.status).toBe(400);
    expect(unknownField.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('a bad setting fails every request with a 503 naming it, not a silent default', async () => {
    const mf = worker({ DATABASE_URL: t.url!, WEBHOOK_RETRY_SCHEDULE_MS: 'soon' });
    const res = await mf.dispatchFetch('http://localhost/healthz');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('WEBHOOK_RETRY_SCHEDULE_MS');
  });

  it('runs every cron trigger of wrangler.toml, and the deliver-webhooks job sends what is due', async () => {
    const mf = worker({ DATABASE_URL: t.url!, LOG_LEVEL: 'silent', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_REQUEST_TIMEOUT_MS: '2000' });
    const { key } = await createApiKey(t.db, 'worker-cron', ['admin']);
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const created = await mf.dispatchFetch('http://localhost/v1/webhooks/subscriptions', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ url: `${receiver.url}/worker`, eventTypes: ['webhook.test'] }),
    });
    expect(created.status).toBe(201);
    const { id, secret } = (await created.json()) as { id: number; secret: string };
    receiver.secrets.set('/worker', secret);
    expect((await mf.dispatchFetch(`http://localhost/v1/webhooks/subscriptions/${id}/test`, { method: 'POST', headers: auth })).status).toBe(202);

    // A past occurrence: rescore-dirty then makes one pass instead of draining for most of a minute.
    const scheduledTime = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000);
    const entry = await mf.getWorker();
    for (const cron of cronsOf()) {
      const result = await entry.scheduled({ cron, scheduledTime });
      expect(result.outcome, cron).toBe('ok');
    }
    await receiver.waitFor((r) => r.received.some((x) => x.path === '/worker'), 10_000, 'the test delivery');

    const runs = await t.db.selectFrom('job_runs').select(['job_name', 'outcome']).where('scheduled_for', '=', scheduledTime).execute();
    const byJob = new Map(runs.map((r) => [r.job_name, r.outcome]));
    for (const job of registry) expect(byJob.get(job.name), job.name).toBe('succeeded');
  });
});
