import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDataDir } from '../support/db.js';
import { runTs } from '../support/process.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hs-cli-'));
  await seedDataDir(dataDir);
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const cli = (...args: string[]) => runTs('src/cli/main.ts', args, { DATABASE_URL: '', DATA_DIR: dataDir });

describe('npm run cli -- keys', () => {
  it('creates a key shown once, lists it without its secret, and revokes it', async () => {
    const created = await cli('keys', 'create', '--name', 'crm', '--scopes', 'read,write');
    expect(created.code, created.output).toBe(0);
    const secret = /hs_[A-Za-z0-9_-]{40,}/.exec(created.output)![0];
    const id = /created key (\d+)/.exec(created.output)![1];

    const listed = await cli('keys', 'list');
    expect(listed.output).toContain('crm');
    expect(listed.output).toContain('read,write');
    expect(listed.output).not.toContain(secret);

    expect((await cli('keys', 'revoke', id!)).code).toBe(0);
    const after = await cli('keys', 'list');
    const row = after.output.split('\n').find((l) => l.startsWith(`${id}\t`))!;
    expect(row.split('\t').at(-1)).toMatch(/^\d{4}-/);
  });

  it('refuses unknown scopes and unknown commands with a usage message', async () => {
    const bad = await cli('keys', 'create', '--name', 'x', '--scopes', 'read,root');
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('unknown: root');
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('usage:');
  });
});
