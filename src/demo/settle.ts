import type { Kysely } from 'kysely';
import { raiseAlerts, sweepAlerts } from '../alerts/index.js';
import type { Database } from '../db/schema.js';
import { planFollowUps } from '../follow-ups/index.js';
import { RESCORE_LEASE_SECONDS, recomputeDirty } from '../scoring/recompute.js';
import { rescoreBacklog } from '../scoring/rescore-marks.js';
import { settleImports } from '../signals/imports.js';
import { compactUsage } from '../signals/usage-compaction.js';

const nameOf = (email: string) =>
  email
    .split('@')[0]!
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join(' ');

/**
 * After `demo` wrote its portfolio: what the jobs would do over the next hour,
 * done now, so a new user sees scores, alerts and follow-ups at once. Every
 * account owner becomes a team member (follow-ups are assigned to them and
 * their calendar links work); accounts are scored, alerts swept, follow-ups
 * planned. Safe beside a running service: each step claims what it works on.
 * `scored` counts the accounts this call scored; `accountsScored` all that have a score.
 */
export async function settleDemo(db: Kysely<Database>) {
  const owners = await db
    .selectFrom('accounts')
    .select('owner as email')
    .where('owner', 'is not', null)
    .union(db.selectFrom('accounts').select('retention_owner as email').where('retention_owner', 'is not', null))
    .execute();
  let teamMembers = 0;
  for (const { email } of owners) {
    const inserted = await db
      .insertInto('team_members')
      .values({ email: email!.toLowerCase(), name: nameOf(email!), timezone: null, manager_email: null })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('email')
      .executeTakeFirst();
    if (inserted) teamMembers += 1;
  }
  let scored = 0;
  for (let pass = 0; pass < 1_000; pass++) {
    const result = await recomputeDirty(db, undefined, raiseAlerts);
    scored += result.claimed;
    if (result.claimed === 0) break;
  }
  // Beside a running service its rescore job may hold some of them: wait until it has scored them (or
  // its lease lapses and they are taken here), so the sweep and the planning see every score.
  const deadline = Date.now() + (RESCORE_LEASE_SECONDS + 30) * 1000;
  while ((await rescoreBacklog(db)) > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    scored += (await recomputeDirty(db, undefined, raiseAlerts)).claimed;
  }
  // The account pages' usage charts read the rollups: fold the demo's usage in now.
  await compactUsage(db);
  // The demo's load has ended: its accounts' imports are settled and their alerts may open (docs/alerts.md).
  await settleImports(db);
  const alerts = await sweepAlerts(db);
  const followUps = await planFollowUps(db);
  // Alerts open as scores change (and in the sweep): count what is open now.
  const { n: openAlerts } = await db
    .selectFrom('alerts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '<>', 'resolved')
    .executeTakeFirstOrThrow();
  const { n: accountsScored } = await db
    .selectFrom('health_scores')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('score', 'is not', null)
    .executeTakeFirstOrThrow();
  return { teamMembers, scored, accountsScored: Number(accountsScored), alerts, openAlerts: Number(openAlerts), followUps };
}
