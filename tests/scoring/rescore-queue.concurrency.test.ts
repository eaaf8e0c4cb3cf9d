import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldRescoreMarks, markForRescore } from '../../src/scoring/rescore-marks.js';
import { recompute, recomputeDirty } from '../../src/scoring/recompute.js';
import { onServer } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let account: number;
beforeAll(async () => {
  if (!onServer()) return;
  s = await startTestServer();
  await s.call('POST', '/v1/accounts/batch', { body: { items: [{ externalId: 'q-a', name: 'Queue A', seats: 5 }] } });
  account = (await s.db.selectFrom('accounts').select('id').where('external_id', '=', 'q-a').executeTakeFirstOrThrow()).id;
  await recompute(s.db, { accountIds: [account] });
});
afterAll(() => s?.close());

// Two sessions at once: the server only.
describe.runIf(onServer())('marking accounts while a rescoring run works on them', () => {
  it('does not wait for the run, and the new mark survives its clean-up', async () => {
    await markForRescore(s.db, [account]);
    await foldRescoreMarks(s.db);
    // Hold the account's health row so the run stops inside its recompute.
    let release!: () => void;
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    const blocker = s.db.transaction().execute(async (trx) => {
      await sql`select 1 from health_scores where account_id = ${account} for update`.execute(trx);
      holding();
      await new Promise<void>((r) => (release = r));
    });
    await held;
    const run = recomputeDirty(s.db);
    for (let i = 0; i < 200; i++) {
      const row = await s.db.selectFrom('rescore_queue').select('claimed_until').where('account_id', '=', account).executeTakeFirst();
      if (row?.claimed_until) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    // Ingest's mark, with a lock timeout: it fails rather than waits if the run still held the row.
    await s.db.transaction().execute(async (trx) => {
      await sql`set local lock_timeout = '2s'`.execute(trx);
      await markForRescore(trx, [account]);
    });
    release();
    await blocker;
    expect(await run).toMatchObject({ claimed: 1 });
    await foldRescoreMarks(s.db);
    const left = await s.db.selectFrom('rescore_queue').select(['account_id', 'claimed_until']).execute();
    expect(left).toEqual([{ account_id: account, claimed_until: null }]);
    expect(await recomputeDirty(s.db)).toMatchObject({ claimed: 1 });
    expect(await s.db.selectFrom('rescore_queue').select('account_id').execute()).toEqual([]);
  });
});
