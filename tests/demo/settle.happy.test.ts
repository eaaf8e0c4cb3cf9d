import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemo } from '../../src/demo/generate.js';
import { settleDemo } from '../../src/demo/settle.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/** #12, the first hour: after `demo`, scores, alerts and follow-ups are there at once, and owners are team members. */

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

describe('settleDemo', () => {
  it('scores every account, plans follow-ups and makes every owner a team member', async () => {
    await generateDemo(t.db, { accounts: 40, seed: 7 });
    const settled = await settleDemo(t.db);
    expect(settled.scored).toBe(40);
    expect(settled.followUps.created).toBeGreaterThan(0);

    const owners = await t.db.selectFrom('accounts').select('owner').distinct().where('owner', 'is not', null).execute();
    const members = new Set((await t.db.selectFrom('team_members').select('email').execute()).map((m) => m.email));
    for (const { owner } of owners) expect(members.has(owner!.toLowerCase()), owner!).toBe(true);

    const unassigned = await t.db.selectFrom('follow_ups').select('id').where('assignee', 'is', null).execute();
    const all = await t.db.selectFrom('follow_ups').select('id').execute();
    expect(all.length).toBe(settled.followUps.created);
    expect(unassigned.length).toBeLessThan(all.length);

    // Nothing left for the jobs to do: a second settle changes nothing.
    const again = await settleDemo(t.db);
    expect(again).toMatchObject({ teamMembers: 0, scored: 0, followUps: { created: 0 } });
  });
});
