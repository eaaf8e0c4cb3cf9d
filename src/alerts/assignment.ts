import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { type AlertChange, SYSTEM } from './changes.js';
import type { Scope } from './conditions.js';

type Db = Kysely<Database>;
/** A function taking it runs inside its caller's transaction. */
type Trx = Transaction<Database>;

/**
 * Gives each of these alerts that is unassigned and unresolved to a member
 * of the retention pool: greedily to whoever has the fewest unresolved
 * alerts (ties by name), so a batch of new alerts spreads over the pool.
 * Assignments serialise on the pool rows, so concurrent evaluations count
 * each other's committed alerts. Returns alert id → member; none when the
 * pool is empty (the alerts stay unassigned).
 */
export async function assignFromPool(trx: Trx, alertIds: number[]): Promise<Map<number, string>> {
  if (alertIds.length === 0) return new Map();
  const pool = await sql<{ member: string }>`select member from retention_pool order by member for update`.execute(trx);
  if (pool.rows.length === 0) return new Map();
  const { rows } = await sql<{ id: number; assignee: string }>`
    with need as (
      select id, row_number() over (order by id) as n
        from alerts
       where id = any(${alertIds}::int8[]) and assignee is null and status <> 'resolved'),
    load as (
      select p.member, count(a.id) as unresolved
        from retention_pool p
        left join alerts a on a.assignee = p.member and a.status <> 'resolved'
       group by p.member),
    slots as (
      -- the g-th extra alert of a member would make its load unresolved + g:
      -- taking the smallest such slots is the greedy least-loaded choice
      select l.member, row_number() over (order by l.unresolved + g, l.member) as n
        from load l
       cross join generate_series(1, (select count(*) from need)::int) g)
    update alerts a
       set assignee = s.member, assigned_via = 'pool', updated_at = now()
      from need
      join slots s on s.n = need.n
     where a.id = need.id
    returning a.id, a.assignee`.execute(trx);
  return new Map(rows.map((r) => [r.id, r.assignee]));
}

/**
 * Follows changes of accounts' retention owners, and gives unassigned alerts
 * to the pool: an unresolved alert whose
 * account's retention_owner differs from the one at its assignment moves to
 * the new owner; when the owner was removed, an alert the old owner had by
 * being owner goes back to the pool (one assigned by hand stays). Returns the
 * 'reassigned' (and, for formerly unassigned alerts, 'assigned') changes.
 */
export async function followOwnerChanges(trx: Trx, scope: Scope): Promise<AlertChange[]> {
  const { rows } = await sql<{ id: number; old_assignee: string | null; assignee: string | null; new_owner: string | null }>`
    with changed as (
      select a.id, a.assignee as old_assignee, acc.retention_owner as new_owner
        from alerts a
        join accounts acc on acc.id = a.account_id
       where a.status <> 'resolved'
         and acc.retention_owner is distinct from a.owner_at_assignment
         and (${scope}::int8[] is null or a.account_id = any(${scope}::int8[]))
       order by a.id
         for update of a)
    update alerts a
       set owner_at_assignment = c.new_owner,
           assignee = case when c.new_owner is not null then c.new_owner
                           when a.assigned_via = 'retention_owner' then null
                           else a.assignee end,
           assigned_via = case when c.new_owner is not null then 'retention_owner'
                               when a.assigned_via = 'retention_owner' then null
                               else a.assigned_via end,
           updated_at = now()
      from changed c
     where a.id = c.id
    returning a.id, c.old_assignee, a.assignee, c.new_owner`.execute(trx);
  // Alerts nobody has (opened while the pool was empty, or left by a removed owner) go to the pool.
  const unassigned = await sql<{ id: number }>`
    select id from alerts
     where status <> 'resolved' and assignee is null
       and (${scope}::int8[] is null or account_id = any(${scope}::int8[]))`.execute(trx);
  const moved = new Set(rows.map((r) => r.id));
  const waiting = unassigned.rows.map((r) => r.id).filter((id) => !moved.has(id));
  const pooled = await assignFromPool(trx, [...rows.filter((r) => r.assignee === null).map((r) => r.id), ...waiting]);
  const changes: AlertChange[] = [];
  for (const id of waiting) {
    const to = pooled.get(id);
    if (to) changes.push({ alertId: id, action: 'assigned', actor: SYSTEM, details: { from: null, to, reason: 'taken from the retention pool' } });
  }
  for (const row of rows) {
    const to = row.assignee ?? pooled.get(row.id) ?? null;
    if (to === row.old_assignee) continue;
    changes.push({
      alertId: row.id,
      action: 'reassigned',
      actor: SYSTEM,
      details: {
        from: row.old_assignee,
        to,
        reason: row.new_owner ? `the account's retention owner is now ${row.new_owner}` : "the account's retention owner was removed",
      },
    });
  }
  return changes;
}
