import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/audit/repository.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/** The audit trail is append-only in the database itself, not only in the absence of a route. */
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  await recordAudit(t.db, { action: 'test.recorded', targetType: 'test', targetId: '1', after: { n: 1 } });
});
afterAll(() => t?.close());

const count = async () => Number((await t.db.selectFrom('audit_log').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n);

describe('the audit trail is append-only', () => {
  it('refuses UPDATE, DELETE and TRUNCATE, whoever asks', async () => {
    const n = await count();
    expect(n).toBeGreaterThan(0);
    await expect(sql`update audit_log set action = 'forged'`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(t.db)).rejects.toThrow(/append-only/);
    expect(await count()).toBe(n);
    expect((await t.db.selectFrom('audit_log').select('action').where('action', '=', 'forged').execute()).length).toBe(0);
  });

  it('lets the retention prune delete only entries older than 30 days, and never edit one', async () => {
    // Entries can only be made old by inserting them with an old time: the service never does.
    await sql`insert into audit_log (actor_type, action, target_type, at) values ('system', 'test.old', 'test', now() - interval '40 days')`.execute(t.db);
    const n = await count();
    await expect(
      t.db.transaction().execute(async (trx) => {
        await sql`select set_config('healthscore.audit_prune', 'on', true)`.execute(trx);
        await sql`delete from audit_log where action = 'test.recorded'`.execute(trx);
      }),
    ).rejects.toThrow(/append-only/);
    await expect(
      t.db.transaction().execute(async (trx) => {
        await sql`select set_config('healthscore.audit_prune', 'on', true)`.execute(trx);
        await sql`update audit_log set action = 'forged' where action = 'test.old'`.execute(trx);
      }),
    ).rejects.toThrow(/append-only/);
    const deleted = await t.db.transaction().execute(async (trx) => {
      await sql`select set_config('healthscore.audit_prune', 'on', true)`.execute(trx);
      return Number((await sql`delete from audit_log where action = 'test.old'`.execute(trx)).numAffectedRows);
    });
    expect(deleted).toBe(1);
    expect(await count()).toBe(n - 1);
  });
});
