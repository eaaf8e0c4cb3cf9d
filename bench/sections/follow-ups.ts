import { raiseAlerts } from '../../src/alerts/index.js';
import { sql } from 'kysely';
import { planFollowUps } from '../../src/follow-ups/planner.js';
import { ensureDefaultPlaybooks } from '../../src/follow-ups/playbooks.js';
import { recomputeAll } from '../../src/scoring/recompute.js';
import { createSubscription } from '../../src/webhooks/outbound/repository.js';
import { fmt, round, scaled, seconds } from '../lib/scale.js';
import type { BenchContext, Section } from '../lib/types.js';

/**
 * Issue 6: one follow-up planning run (every shipped playbook) over 100,000
 * accounts, then the same run again (which must create nothing), beside a
 * bare INSERT … SELECT of the same rows into a copy of the table.
 */

const ACCOUNTS = scaled(100_000, 1_000);
const CSMS = 200;
const TIMEZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Europe/London', 'America/Los_Angeles', 'Australia/Sydney'];

/**
 * Accounts with owners (team members in six timezones), NPS answers, tickets
 * and contracts; then a full recompute, which scores them and opens the
 * churn-risk alerts, so every playbook has causes to find.
 */
async function seed(ctx: BenchContext) {
  // Run after other sections, the database holds their accounts too: set them aside.
  await sql`update accounts set archived_at = now() where archived_at is null`.execute(ctx.db);
  const tz = `array[${TIMEZONES.map((t) => `'${t}'`).join(', ')}]`;
  await sql`
    insert into team_members (email, name, timezone, daily_capacity, manager_email)
    select 'csm' || n || '@example.com', 'CSM ' || n, (${sql.raw(tz)})[1 + n % ${TIMEZONES.length}], 6 + n % 5, 'lead' || (n % 10) || '@example.com'
      from generate_series(0, ${CSMS - 1}) n`.execute(ctx.db);
  await sql`
    insert into accounts (external_id, name, segment, tier, owner, retention_owner, seats, timezone)
    select 'fu-' || n, 'Follow-up Customer ' || n,
           (array['smb', 'smb', 'smb', 'smb', 'smb', 'mid-market', 'mid-market', 'mid-market', 'enterprise', 'enterprise'])[1 + n % 10],
           (array['bronze', 'silver', 'gold'])[1 + n % 3],
           'csm' || (n * 7919 % ${CSMS}) || '@example.com', 'retention' || (n % 20) || '@example.com', 10 + n % 500,
           (${sql.raw(tz)})[1 + n % ${TIMEZONES.length}]
      from generate_series(1, ${ACCOUNTS}) n`.execute(ctx.db);
  // NPS: a third answered in the last 60 days; about a third of those are detractors.
  await sql`
    insert into survey_responses (account_id, response_id, kind, score, responded_at)
    select id, 'nps-' || id, 'nps', (id * 31 % 11)::int2, now() - (id % 60) * interval '1 day' - interval '1 hour'
      from accounts where id % 3 = 0`.execute(ctx.db);
  // Tickets: every tenth account has one, a fifth of them escalated and solved in the last 10 days.
  await sql`
    insert into tickets (account_id, ticket_id, subject, status, priority, opened_at, solved_at, escalated, source_updated_at)
    select id, 't-' || id, 'Export fails', case when id % 50 = 0 then 'solved' else 'open' end, (array['low', 'normal', 'high', 'urgent'])[1 + id % 4],
           now() - interval '20 days', case when id % 50 = 0 then now() - (id % 10) * interval '1 day' - interval '1 hour' end,
           id % 50 = 0, now() - interval '1 hour'
      from accounts where id % 10 = 0`.execute(ctx.db);
  // Contracts: ending over the next 400 days, so a slice is 30/60/90/120 days out.
  await sql`
    insert into contracts (account_id, contract_id, start_date, end_date, arr, status, auto_renew, payment_status)
    select id, 'c-' || id, current_date - 365 + (id % 400)::int, current_date + (id % 400)::int, 1000 + id % 90000, 'active',
           id % 4 <> 0, case when id % 40 = 0 then 'overdue' else 'current' end
      from accounts`.execute(ctx.db);
  const started = performance.now();
  const scored = await recomputeAll(ctx.db, undefined, raiseAlerts);
  const recomputeSeconds = seconds(started);
  const { rows } = await sql<{ red: number; alerts: number }>`
    select (select count(*)::int from health_scores where band = 'red') as red,
           (select count(*)::int from alerts where status <> 'resolved') as alerts`.execute(ctx.db);
  return { scored: scored.accounts, recomputeSeconds, ...rows[0]! };
}

async function followUpsByPlaybook(ctx: BenchContext) {
  const { rows } = await sql<{ playbook_key: string; n: number }>`
    select playbook_key, count(*)::int as n from follow_ups group by 1 order by 1`.execute(ctx.db);
  return rows;
}

export const followUps: Section = {
  name: 'follow-ups',
  async run(ctx) {
    ctx.log(`seeding ${fmt(ACCOUNTS)} accounts with NPS answers, tickets and contracts, then recomputeAll`);
    const seeded = await seed(ctx);
    await ensureDefaultPlaybooks(ctx.db);
    // Someone listens, as in production: every follow_up.created also gets a delivery row.
    await createSubscription(ctx.db, { url: 'http://127.0.0.1:9/follow-ups', eventTypes: ['follow_up.created'] });
    await sql`analyze`.execute(ctx.db);

    ctx.log('first planning run');
    let started = performance.now();
    const first = await planFollowUps(ctx.db);
    const firstSeconds = seconds(started);
    ctx.log('second planning run (creates nothing)');
    started = performance.now();
    const second = await planFollowUps(ctx.db);
    const secondSeconds = seconds(started);

    // Baseline: the same rows written by one bare INSERT … SELECT, no candidates, working time or events.
    await sql`create table bench_follow_ups (like follow_ups including defaults)`.execute(ctx.db);
    started = performance.now();
    await sql`insert into bench_follow_ups select * from follow_ups`.execute(ctx.db);
    const bareSeconds = seconds(started);
    await sql`drop table bench_follow_ups`.execute(ctx.db);

    const { rows: events } = await sql<{ events: number; deliveries: number }>`
      select (select count(*)::int from webhook_events where type = 'follow_up.created') as events,
             (select count(*)::int from webhook_deliveries) as deliveries`.execute(ctx.db);
    const perPlaybook = await followUpsByPlaybook(ctx);
    return {
      tables: [
        {
          title: `Follow-up planning over ${fmt(ACCOUNTS)} accounts: every shipped playbook, one run`,
          columns: ['run', 'seconds', 'candidates', 'created', 'moved for capacity', 'follow-ups/s'],
          rows: [
            ['first run (planFollowUps)', round(firstSeconds, 2), fmt(first.candidates), fmt(first.created), fmt(first.movedForCapacity), fmt(first.created / firstSeconds)],
            ['second run (nothing new)', round(secondSeconds, 2), fmt(second.candidates), fmt(second.created), fmt(second.movedForCapacity), null],
            ['bare INSERT … SELECT of the same rows (baseline)', round(bareSeconds, 2), null, fmt(first.created), null, fmt(first.created / bareSeconds)],
            ['ratio first run / bare', round(firstSeconds / bareSeconds, 1), null, null, null, null],
          ],
        },
      ],
      notes: [
        `Seed: ${fmt(ACCOUNTS)} accounts (50 % smb, 30 % mid-market, 20 % enterprise) owned by ${CSMS} team members in ${TIMEZONES.length} timezones (daily capacity 6–10); NPS answers for a third (ids ≡ 0 mod 3, scores 0–10), a ticket for every tenth (every fiftieth escalated and solved in the last 10 days), an active contract for each ending within 400 days. recomputeAll scored ${fmt(seeded.scored)} accounts in ${seeded.recomputeSeconds.toFixed(1)} s: ${fmt(seeded.red)} red, ${fmt(seeded.alerts)} open churn-risk alerts.`,
        `Created per playbook: ${perPlaybook.map((r) => `${r.playbook_key} ${fmt(r.n)}`).join(', ')}.`,
        `The run includes, per page of 2,000 candidates: the candidate query (a dedupe probe of follow_ups per cause), due times in each assignee's working hours and timezone, capacity spreading, one INSERT … ON CONFLICT DO NOTHING, and ${fmt(events[0]!.events)} follow_up.created events (${fmt(events[0]!.deliveries)} delivery rows for one subscription) written set-based in the same transaction.`,
      ],
    };
  },
};
