import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runTs, spawnTs, waitFor } from '../support/process.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function startService(dataDir: string) {
  const port = await freePort();
  const proc = spawnTs('src/node.ts', [], { DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  // Generous on purpose: the 30 s start-up target is not a timing assertion on a busy CI machine.
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 120_000, '/healthz');
  return { ...proc, url };
}

describe('npm start with the embedded database', () => {
  it('answers /healthz within 30 s, prints one admin key once, and stops cleanly on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hs-start-'));
    dirs.push(dataDir);
    const first = await startService(dataDir);
    const key = /hs_[A-Za-z0-9_-]{40,}/.exec(first.output())?.[0];
    expect(key).toBeDefined();
    const res = await fetch(`${first.url}/v1/admin/keys`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect((await fetch(`${first.url}/docs`)).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // The key is printed, but never inside a structured log line.
    expect(first.output().split('\n').filter((l) => l.startsWith('{') && l.includes(key!))).toEqual([]);

    // The data persisted under DATA_DIR; a second start creates no new key.
    const second = await startService(dataDir);
    expect(second.output()).not.toMatch(/hs_[A-Za-z0-9_-]{40,}/);
    const again = await fetch(`${second.url}/v1/admin/keys`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await again.json()) as { items: unknown[] }).items).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('configuration', () => {
  it('a bad setting stops start-up with a message naming it', async () => {
    const { code, output } = await runTs('src/node.ts', [], { PORT: 'eighty', DATABASE_URL: 'mysql://x' });
    expect(code).toBe(1);
    expect(output).toContain('PORT');
    expect(output).toContain('DATABASE_URL');
  });
});
