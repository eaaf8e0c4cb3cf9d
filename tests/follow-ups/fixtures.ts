import { type Kysely, sql } from 'kysely';
import { upsertAccounts } from '../../src/accounts/repository.js';
import type { AccountInput } from '../../src/accounts/schemas.js';
import { jsonb } from '../../src/db/params.js';
import type { Database } from '../../src/db/schema.js';
import { ensureDefaultScorecard } from '../../src/scoring/scorecards.js';

type Db = Kysely<Database>;

/** Creates accounts and returns their ids by external id. */
export async function accounts(db: Db, inputs: (Partial<AccountInput> & { externalId: string })[]): Promise<Record<string, number>> {
  await upsertAccounts(
    db,
    inputs.map((i) => ({ name: i.externalId.toUpperCase(), ...i }) as AccountInput),
  );
  const rows = await db
    .selectFrom('accounts')
    .select(['id', 'external_id'])
    .where('external_id', 'in', inputs.map((i) => i.externalId))
    .execute();
  return Object.fromEntries(rows.map((r) => [r.external_id, r.id]));
}

export async function nps(db: Db, accountId: number, responseId: string, score: number, respondedAt: string, comment?: string) {
  await db
    .insertInto('survey_responses')
    .values({ account_id: accountId, response_id: responseId, kind: 'nps', score, responded_at: respondedAt, comment: comment ?? null })
    .execute();
}

export async function ticket(db: Db, accountId: number, ticketId: string, fields: { escalated: boolean; status: string; solvedAt: string | null; subject?: string }) {
  await db
    .insertInto('tickets')
    .values({
      account_id: accountId,
      ticket_id: ticketId,
      subject: fields.subject ?? null,
      status: fields.status,
      priority: 'high',
      opened_at: '2026-10-01T00:00:00Z',
      solved_at: fields.solvedAt,
      escalated: fields.escalated,
      reopen_count: 0,
      sla_breached: false,
      source_updated_at: fields.solvedAt ?? '2026-10-01T00:00:00Z',
    })
    .execute();
}

export async function contract(db: Db, accountId: number, contractId: string, endDate: string, status = 'active') {
  await db
    .insertInto('contracts')
    .values({ account_id: accountId, contract_id: contractId, start_date: '2025-01-01', end_date: endDate, arr: 1000, status, auto_renew: false, payment_status: 'current' })
    .execute();
}

/** A band change to `band` at `takenAt`, with health_scores current as the scoring engine leaves it. */
export async function bandChange(db: Db, accountId: number, takenAt: string, band: 'red' | 'yellow' | 'green', previous: string | null) {
  await ensureDefaultScorecard(db);
  const card = await db.selectFrom('scorecards').select('id').where('active', '=', true).executeTakeFirstOrThrow();
  await db
    .insertInto('health_snapshots')
    .values({
      account_id: accountId,
      taken_at: new Date(takenAt),
      reason: 'band_change',
      day: takenAt.slice(0, 10),
      scorecard_id: card.id,
      score: band === 'red' ? 31 : 70,
      band,
      previous_band: previous,
      coverage: 1,
      raw: [],
      sub: [],
      pulse: null,
    })
    .execute();
  await sql`
    insert into health_scores (account_id, scorecard_id, score, band, coverage, raw, sub, band_changed_at, change_seq)
    values (${accountId}, ${card.id}, ${band === 'red' ? 31 : 70}, ${band}, 1, '{}', '{}', ${takenAt}::timestamptz, 1)
    on conflict (account_id) do update set band = excluded.band, band_changed_at = excluded.band_changed_at`.execute(db);
}

export async function member(
  db: Db,
  email: string,
  fields: Partial<{ timezone: string | null; work_start: number; work_end: number; working_days: number[]; daily_capacity: number; manager_email: string | null }> = {},
) {
  const { working_days, ...rest } = fields;
  await db
    .insertInto('team_members')
    .values({
      email,
      name: email.split('@')[0]!,
      ...rest,
      ...(working_days ? { working_days: sql<number[]>`${`{${working_days.join(',')}}`}::integer[]` } : {}),
    })
    .execute();
}

/** A follow-up row inserted directly (for the sweeps and the API). */
export async function followUp(
  db: Db,
  fields: { accountId: number; anchor: string; dueAt: string; assignee?: string | null; timezone?: string; kind?: 'call' | 'visit' | 'email' | 'qbr'; causeType?: 'contract' | 'survey' | 'ticket' | 'periodic'; causeRef?: string; status?: 'scheduled' | 'done' | 'cancelled' | 'missed' },
): Promise<number> {
  const row = await db
    .insertInto('follow_ups')
    .values({
      account_id: fields.accountId,
      playbook_key: 'test',
      playbook_version: 1,
      anchor: fields.anchor,
      kind: fields.kind ?? 'call',
      title: 'Test call',
      reason: `Because of ${fields.anchor}`,
      cause_type: fields.causeType ?? 'periodic',
      cause_ref: fields.causeRef ?? fields.anchor,
      assignee: fields.assignee === undefined ? 'csm@example.com' : fields.assignee,
      timezone: fields.timezone ?? 'UTC',
      due_at: fields.dueAt,
      ...(fields.status === 'cancelled' ? { status: 'cancelled', cancelled_at: fields.dueAt } : fields.status ? { status: fields.status } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export const events = (db: Db, type: string) =>
  db
    .selectFrom('webhook_events')
    .select(['id', 'type', 'subject_account_id', 'payload', 'occurred_at'])
    .where('type', '=', type)
    .orderBy('created_at')
    .orderBy('id')
    .execute() as Promise<{ id: string; type: string; subject_account_id: number | null; payload: Record<string, unknown>; occurred_at: Date }[]>;

/** A churn alert as src/alerts opens one (sql/0007_alerts.sql). */
export async function alert(db: Db, accountId: number, fields: { assignee: string | null; openedAt: string; resolved?: boolean; reason?: string }): Promise<number> {
  const row = await db
    .insertInto('alerts')
    .values({
      account_id: accountId,
      rule_key: 'usage-drop',
      rule_type: 'usage_drop',
      rule_set_version: 1,
      severity: 'high',
      assignee: fields.assignee,
      assigned_via: fields.assignee ? 'retention_owner' : null,
      reasons: jsonb([fields.reason ?? 'Weekly active users fell 45% in 30 days']),
      metrics: jsonb({}),
      signature: jsonb({}),
      opened_at: new Date(fields.openedAt),
      ...(fields.resolved ? { status: 'resolved' as const, resolved_at: fields.openedAt, resolution: 'condition_cleared' as const } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
