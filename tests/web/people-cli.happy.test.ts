import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/people/passwords.js';
import { type CliDatabase, createCliDatabase } from '../cli/cli-database.js';

let t: CliDatabase;
beforeAll(async () => {
  t = await createCliDatabase();
});
afterAll(() => t.close());

const passwordIn = (output: string) => /password \(shown once\): (\S+)/.exec(output)?.[1];

describe('npm run cli -- people', { timeout: 180_000 }, () => {
  it('creates the first admin with a generated password shown once, lists people without passwords, resets a password', async () => {
    const created = await t.cli('people', 'create', '--email', 'Boss@Example.com', '--name', 'The Boss', '--roles', 'admin');
    expect(created.code, created.output).toBe(0);
    const first = passwordIn(created.output)!;
    expect(first).toMatch(/^[A-Za-z0-9]{16}$/);
    const list = await t.cli('people', 'list');
    expect(list.output).toContain('boss@example.com\tThe Boss\tadmin');
    expect(list.output).not.toContain(first);
    expect(list.output).not.toMatch(/\$2[aby]\$/);
    const reset = await t.cli('people', 'reset-password', 'boss@example.com');
    const second = passwordIn(reset.output)!;
    expect(second).not.toBe(first);
    const hash = await t.query(async (db) => (await db.selectFrom('people').select('password_hash').executeTakeFirstOrThrow()).password_hash ?? '');
    expect(await verifyPassword(second, hash)).toBe(true);
    expect(await verifyPassword(first, hash)).toBe(false);
  });

  it('refuses unknown roles and duplicate emails', async () => {
    const bad = await t.cli('people', 'create', '--email', 'x@example.com', '--roles', 'wizard');
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('unknown role wizard');
    const again = await t.cli('people', 'create', '--email', 'boss@example.com', '--roles', 'csm');
    expect(again.code).toBe(1);
    expect(again.output).toContain('exists');
  });

  it('demo creates one person per role and prints how to sign in', async () => {
    const demo = await t.cli('demo', '--accounts', '5');
    expect(demo.code, demo.output).toBe(0);
    expect(demo.output).toContain('open http://localhost:8787/ and sign in');
    for (const role of ['csm', 'retention', 'dispatcher', 'manager', 'analyst', 'admin']) expect(demo.output).toMatch(new RegExp(`\\n  ${role}\\s+\\S+@example\\.com`));
    const people = await t.query((db) => db.selectFrom('people').select(['email', 'roles']).orderBy('email').execute());
    expect(people.map((p) => p.roles[0]).sort()).toEqual(['admin', 'admin', 'analyst', 'csm', 'dispatcher', 'manager', 'retention']);
  });
});
