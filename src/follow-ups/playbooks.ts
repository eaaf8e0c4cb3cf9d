import { type Kysely, type Selectable, sql } from 'kysely';
import { z } from 'zod';
import { jsonb } from '../db/params.js';
import type { Database } from '../db/schema.js';
import { activateVersion, nextVersion, type VersionedTable } from '../db/versions.js';
import type { FollowUpTables } from '../db/tables/follow-ups.js';

type Db = Kysely<Database>;

const PLAYBOOKS: VersionedTable = { table: 'follow_up_playbooks', scope: 'key' };

export const KINDS = ['call', 'visit', 'email', 'qbr'] as const;
export const ASSIGNEE_SOURCES = ['alert_assignee', 'owner', 'retention_owner'] as const;

/**
 * Trigger types, in planning order: the urgent ones claim an assignee's
 * capacity before routine visits do.
 */
export const TRIGGER_TYPES = ['churn_alert', 'band_red', 'nps_detractor', 'escalated_ticket_solved', 'renewal', 'periodic'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

const lookbackDays = (fallback: number) =>
  z
    .int()
    .min(1)
    .max(365)
    .default(fallback)
    .meta({ description: 'Causes older than this many days are ignored (so a first run does not schedule calls for old history)' });

const label = z.string().trim().min(1).max(100);

export const triggerSchema = z.discriminatedUnion('type', [
  z
    .strictObject({ type: z.literal('churn_alert'), lookbackDays: lookbackDays(14) })
    .meta({ description: 'A churn alert was opened; due is measured from when it opened' }),
  z
    .strictObject({ type: z.literal('band_red'), lookbackDays: lookbackDays(14) })
    .meta({ description: 'The account is red and turned red (a band_change snapshot) within the lookback' }),
  z
    .strictObject({
      type: z.literal('nps_detractor'),
      maxScore: z.int().min(0).max(10).default(6).meta({ description: 'NPS scores at or below this are detractors' }),
      lookbackDays: lookbackDays(14),
    })
    .meta({ description: 'An NPS response at or below maxScore; due is measured from responded_at' }),
  z
    .strictObject({ type: z.literal('escalated_ticket_solved'), lookbackDays: lookbackDays(30) })
    .meta({ description: 'An escalated ticket was solved (or closed); due is measured from solved_at' }),
  z
    .strictObject({
      type: z.literal('renewal'),
      daysBefore: z
        .array(z.int().min(1).max(730))
        .min(1)
        .max(12)
        .transform((days) => [...new Set(days)].sort((a, b) => b - a))
        .meta({ description: 'Milestones: days before an active contract’s end date' }),
      windowDays: z
        .int()
        .min(1)
        .max(365)
        .default(14)
        .meta({ description: 'A milestone still fires this many days after its date (a missed planning run, a contract added late)' }),
    })
    .meta({ description: 'An active contract reaches N days before its end date; due is measured from local midnight of that day' }),
  z
    .strictObject({
      type: z.literal('periodic'),
      every: z.enum(['month', 'quarter']),
      tiers: z.array(label).max(50).default([]).meta({ description: 'Account tiers (case-insensitive)' }),
      segments: z.array(label).max(50).default([]).meta({ description: 'Account segments (case-insensitive); an account matches on its tier or its segment' }),
    })
    .refine((t) => t.tiers.length + t.segments.length > 0, 'name at least one tier or segment')
    .meta({ description: 'Once per calendar month or quarter (UTC) per matching account; due is measured from local midnight of the period’s first day' }),
]);
export type Trigger = z.output<typeof triggerSchema>;

export const dueSchema = z
  .union([
    z.strictObject({ businessDays: z.number().min(0).max(260).meta({ description: 'Working time: N × the assignee’s working-day length' }) }),
    z.strictObject({ hours: z.number().min(0).max(8784).meta({ description: 'Calendar hours; lands on the latest working moment at or before' }) }),
  ])
  .meta({ description: 'When the follow-up is due, from the cause’s time; see docs/follow-ups.md' });

export const playbookDefinitionSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).optional(),
    enabled: z.boolean().default(true).meta({ description: 'A disabled playbook creates nothing' }),
    trigger: triggerSchema,
    kind: z.enum(KINDS),
    title: z.string().trim().min(1).max(200).meta({ description: 'Shown with the follow-up, e.g. "Retention call"' }),
    assignee: z
      .array(z.enum(ASSIGNEE_SOURCES))
      .min(1)
      .max(3)
      .meta({ description: 'Who gets it: the first of these that is set (`alert_assignee` only for churn_alert)' }),
    due: dueSchema,
  })
  .refine((d) => d.trigger.type === 'churn_alert' || !d.assignee.includes('alert_assignee'), {
    message: 'alert_assignee is only available to churn_alert playbooks',
    path: ['assignee'],
  })
  .meta({ id: 'PlaybookDefinition' });

export type PlaybookDefinition = z.output<typeof playbookDefinitionSchema>;
export type PlaybookDefinitionInput = z.input<typeof playbookDefinitionSchema>;

export const playbookKeySchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63');

/** The shipped playbooks, installed as version 1 of each key on first use. */
export const DEFAULT_PLAYBOOKS: Readonly<Record<string, PlaybookDefinitionInput>> = {
  'churn-alert-retention-call': {
    name: 'Churn alert: retention call',
    trigger: { type: 'churn_alert' },
    kind: 'call',
    title: 'Retention call',
    assignee: ['alert_assignee', 'retention_owner', 'owner'],
    due: { businessDays: 1 },
  },
  'red-account-csm-call': {
    name: 'Account turned red: CSM call',
    trigger: { type: 'band_red' },
    kind: 'call',
    title: 'CSM call: health turned red',
    assignee: ['owner'],
    due: { businessDays: 2 },
  },
  'nps-detractor-callback': {
    name: 'NPS detractor: callback within 48 h',
    trigger: { type: 'nps_detractor', maxScore: 6 },
    kind: 'call',
    title: 'NPS detractor callback',
    assignee: ['owner'],
    due: { hours: 48 },
  },
  'escalated-ticket-satisfaction-call': {
    name: 'Escalated ticket solved: satisfaction call',
    trigger: { type: 'escalated_ticket_solved' },
    kind: 'call',
    title: 'Satisfaction call after an escalated ticket',
    assignee: ['owner'],
    due: { businessDays: 3 },
  },
  'renewal-qbr': {
    name: 'Renewal in 120 days: QBR',
    trigger: { type: 'renewal', daysBefore: [120] },
    kind: 'qbr',
    title: 'QBR ahead of renewal',
    assignee: ['owner'],
    due: { businessDays: 10 },
  },
  'renewal-check-in': {
    name: 'Renewal in 90/60/30 days: check-in call',
    trigger: { type: 'renewal', daysBefore: [90, 60, 30] },
    kind: 'call',
    title: 'Renewal check-in',
    assignee: ['owner'],
    due: { businessDays: 3 },
  },
  'enterprise-monthly-visit': {
    name: 'Enterprise: monthly visit',
    trigger: { type: 'periodic', every: 'month', tiers: ['enterprise'], segments: ['enterprise'] },
    kind: 'visit',
    title: 'Monthly visit',
    assignee: ['owner'],
    due: { businessDays: 10 },
  },
  'mid-market-quarterly-call': {
    name: 'Mid-market: quarterly call',
    trigger: { type: 'periodic', every: 'quarter', tiers: ['mid-market', 'mid_market', 'midmarket'], segments: ['mid-market', 'mid_market', 'midmarket'] },
    kind: 'call',
    title: 'Quarterly call',
    assignee: ['owner'],
    due: { businessDays: 20 },
  },
};

export interface Playbook {
  id: number;
  key: string;
  version: number;
  active: boolean;
  definition: PlaybookDefinition;
  createdAt: Date;
  activatedAt: Date | null;
}

type Row = Selectable<FollowUpTables['follow_up_playbooks']>;

const toPlaybook = (row: Row): Playbook => ({
  id: row.id,
  key: row.key,
  version: row.version,
  active: row.active,
  definition: playbookDefinitionSchema.parse(row.definition),
  createdAt: row.created_at,
  activatedAt: row.activated_at,
});

/**
 * Installs each shipped playbook as version 1 of its key, active, where that
 * key has no version yet. Cheap enough to call before every use.
 */
export async function ensureDefaultPlaybooks(db: Db): Promise<void> {
  await db
    .insertInto('follow_up_playbooks')
    .values(
      Object.entries(DEFAULT_PLAYBOOKS).map(([key, definition]) => ({
        key,
        version: 1,
        definition: jsonb(playbookDefinitionSchema.parse(definition)),
        active: true,
        activated_at: sql<Date>`now()`,
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** The active, enabled playbooks, in planning order. */
export async function activePlaybooks(db: Db): Promise<Playbook[]> {
  await ensureDefaultPlaybooks(db);
  const rows = await db.selectFrom('follow_up_playbooks').selectAll().where('active', '=', true).orderBy('key').execute();
  return rows
    .map(toPlaybook)
    .filter((p) => p.definition.enabled)
    .sort((a, b) => TRIGGER_TYPES.indexOf(a.definition.trigger.type) - TRIGGER_TYPES.indexOf(b.definition.trigger.type) || a.key.localeCompare(b.key));
}

export async function listPlaybooks(db: Db, key?: string): Promise<Playbook[]> {
  await ensureDefaultPlaybooks(db);
  let query = db.selectFrom('follow_up_playbooks').selectAll();
  if (key !== undefined) query = query.where('key', '=', key);
  return (await query.orderBy('key').orderBy('version').execute()).map(toPlaybook);
}

export async function findPlaybook(db: Db, id: number): Promise<Playbook | undefined> {
  await ensureDefaultPlaybooks(db);
  const row = await db.selectFrom('follow_up_playbooks').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toPlaybook(row) : undefined;
}

/** Adds the next version of a key (a new key starts at 1), inactive until activated. */
export async function createPlaybookVersion(db: Db, key: string, definition: PlaybookDefinition): Promise<Playbook> {
  await ensureDefaultPlaybooks(db);
  const row = await db
    .insertInto('follow_up_playbooks')
    .values({
      key,
      version: nextVersion(PLAYBOOKS, key),
      definition: jsonb(definition),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toPlaybook(row);
}

/** Makes a version the active one of its key (run it in a transaction). */
export async function activatePlaybook(trx: Db, id: number): Promise<Playbook | undefined> {
  return (await activateVersion(trx, PLAYBOOKS, id)) ? findPlaybook(trx, id) : undefined;
}
