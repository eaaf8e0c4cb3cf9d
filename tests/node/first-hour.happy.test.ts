import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { freePort, runTs, spawnTs, waitFor } from '../support/process.js';

/**
 * #12, the first hour: a CLI command beside a running embedded service is
 * refused with a clear message (the data folder is locked); SIGTERM stops the
 * service promptly and hands its job runs back, so the next start runs the
 * current occurrence at once instead of a minute later.
 */

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function startService(dataDir: string) {
  const port = await freePort();
  const proc = spawnTs('src/node.ts', [], { DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/readyz`)).ok, 120_000, '/readyz');
  return { ...proc, url };
}

describe('the embedded data folder is locked', () => {
  it('a CLI command beside the running service is refused with a message saying what to do; after the service stops it works', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hs-lock-'));
    dirs.push(dataDir);
    const service = await startService(dataDir);
    const refused = await runTs('src/cli/main.ts', ['keys', 'list'], { DATABASE_URL: '', DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/in use by the service \(npm start\) \(pid \d+/);
    expect(refused.output).toMatch(/stop it first/);
    // The service was not disturbed.
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const listed = await runTs('src/cli/main.ts', ['keys', 'list'], { DATABASE_URL: '', DATA_DIR: dataDir });
    expect(listed.code).toBe(0);
    expect(listed.output).toContain('admin');
  });

  it('a lock left by a process that died is taken over', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hs-lock-'));
    dirs.push(dataDir);
    await writeFile(join(dataDir, 'healthscore.lock'), JSON.stringify({ pid: 2 ** 22 + 12_345, owner: 'the service (npm start)', since: '2026-01-01T00:00:00Z' }));
    const listed = await runTs('src/cli/main.ts', ['keys', 'list'], { DATABASE_URL: '', DATA_DIR: dataDir });
    expect(listed.code, listed.output).toBe(0);
  });
});

describe('SIGTERM', () => {
  it('stops the service cleanly and leaves none of its runs marked running (handed back for the next process)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hs-stop-'));
    dirs.push(dataDir);
    const first = await startService(dataDir);
    // The scheduler is at work once a first run is recorded; rescore-dirty then runs for most of the minute.
    await waitFor(async () => first.output().includes('job run finished'), 60_000, 'the scheduler to run jobs');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/"msg":"stopped"/);

    // Nothing of the stopped process is left running in the database.
    const pg = await PGlite.create({ dataDir });
    const running = await pg.query<{ n: number }>(`select count(*)::int as n from job_runs where outcome = 'running'`);
    await pg.close();
    expect(running.rows[0]!.n).toBe(0);
  });
});
