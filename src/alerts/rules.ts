import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { jsonb } from '../db/params.js';
import type { Database } from '../db/schema.js';
import { activateVersion, nextVersion, type VersionedTable } from '../db/versions.js';

type Db = Kysely<Database>;

const RULE_SETS: VersionedTable = { table: 'alert_rule_sets', scope: null };

/**
 * Churn-risk rules: versioned JSON like scorecards, validated here. A rule
 * set holds the rules and the frequency cap (cooldown); exactly one version
 * is active. docs/alerts.md describes each rule type.
 */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const severitySchema = z.enum(SEVERITIES);

const days = (max: number) => z.number().int().min(1).max(max);
const noParams = z.object({}).strict().default({});

const ruleBase = {
  key: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower-case letters, digits and underscores, starting with a letter'),
  severity: severitySchema,
  enabled: z.boolean().default(true),
  /** Overrides the rule set's cooldownHours for this rule. */
  cooldownHours: z.number().min(0).max(24 * 90).optional(),
  description: z.string().max(500).optional(),
};

export const ruleSchema = z.discriminatedUnion('type', [
  z.object({ ...ruleBase, type: z.literal('entered_red'), params: noParams }),
  z.object({
    ...ruleBase,
    type: z.literal('score_drop'),
    params: z.object({ points: z.number().positive().max(100), days: days(90) }).strict(),
  }),
  z.object({
    ...ruleBase,
    type: z.literal('renewal_at_risk'),
    params: z.object({ withinDays: days(730), belowScore: z.number().min(0).max(100) }).strict(),
  }),
  z.object({
    ...ruleBase,
    type: z.literal('detractor_with_escalation'),
    params: z.object({ withinDays: days(365), maxScore: z.number().int().min(0).max(10).default(6) }).strict(),
  }),
  z.object({
    ...ruleBase,
    type: z.literal('usage_drop'),
    params: z.object({ dropPercent: z.number().positive().max(100), minPriorEvents: z.number().int().min(1).max(1e9) }).strict(),
  }),
  z.object({
    ...ruleBase,
    type: z.literal('payment_overdue_near_renewal'),
    params: z.object({ withinDays: days(730) }).strict(),
  }),
]);
export type Rule = z.infer<typeof ruleSchema>;
export type RuleType = Rule['type'];
export type RuleOf<T extends RuleType> = Extract<Rule, { type: T }>;
export const RULE_TYPES: RuleType[] = ['entered_red', 'score_drop', 'renewal_at_risk', 'detractor_with_escalation', 'usage_drop', 'payment_overdue_near_renewal'];

/**
 * The alert budget: at most `maxShareOfAccounts` of the active accounts have
 * an unresolved alert, and at most `perSpecialist` per specialist (the
 * retention pool and the retention owners; no limit while there are none);
 * the smaller of the two applies, but never fewer than `minAlerts`.
 * Within it, accounts open in order of expected loss; the rest wait on the
 * watch list.
 */
export const budgetSchema = z
  .object({
    maxShareOfAccounts: z.number().min(0).max(1).default(0.2),
    perSpecialist: z.number().int().min(0).max(100_000).nullable().default(null),
    /** A floor: a small portfolio still gets this many (a specialist's week, say). */
    minAlerts: z.number().int().min(0).max(1_000_000).default(25),
  })
  .strict();
export type AlertBudget = z.infer<typeof budgetSchema>;

export const ruleSetDefinitionSchema = z
  .object({
    name: z.string().min(1).max(200),
    /**
     * Frequency cap: after an alert opened for an account and rule (or a
     * specialist resolved one by hand), no new alert for that pair opens for
     * this many hours. 0 turns the cap off.
     */
    cooldownHours: z.number().min(0).max(24 * 90).default(24),
    /**
     * An account whose history is arriving (back-dated signals) gets no new
     * alerts until this many minutes after its last back-dated signal, or an
     * explicit settle (docs/alerts.md "Settled before alerting").
     */
    settleMinutes: z.number().min(0).max(24 * 60).default(10),
    /** How many alerts the team can work; null: no budget (every condition that holds opens). */
    budget: budgetSchema.nullable().default(null),
    rules: z.array(ruleSchema).min(1).max(50),
  })
  .superRefine((set, ctx) => {
    const keys = set.rules.map((r) => r.key);
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup) ctx.addIssue({ code: 'custom', path: ['rules'], message: `rule key ${dup} is used twice` });
  });
export type RuleSetDefinition = z.infer<typeof ruleSetDefinitionSchema>;

/** The rules the service ships with (version 1, installed on first use). */
export const DEFAULT_RULE_SET: RuleSetDefinition = {
  name: 'Default churn-risk rules',
  cooldownHours: 24,
  settleMinutes: 10,
  budget: { maxShareOfAccounts: 0.2, perSpecialist: 30, minAlerts: 25 },
  rules: [
    { key: 'entered_red', type: 'entered_red', severity: 'high', enabled: true, params: {} },
    { key: 'score_drop', type: 'score_drop', severity: 'high', enabled: true, params: { points: 15, days: 7 } },
    { key: 'renewal_at_risk', type: 'renewal_at_risk', severity: 'critical', enabled: true, params: { withinDays: 90, belowScore: 50 } },
    {
      key: 'detractor_with_escalation',
      type: 'detractor_with_escalation',
      severity: 'high',
      enabled: true,
      params: { withinDays: 30, maxScore: 6 },
    },
    { key: 'usage_drop', type: 'usage_drop', severity: 'medium', enabled: true, params: { dropPercent: 50, minPriorEvents: 50 } },
    {
      key: 'payment_overdue_near_renewal',
      type: 'payment_overdue_near_renewal',
      severity: 'critical',
      enabled: true,
      params: { withinDays: 60 },
    },
  ],
};

export interface RuleSet {
  id: number;
  version: number;
  active: boolean;
  definition: RuleSetDefinition;
  createdBy: string | null;
  createdAt: Date;
  activatedAt: Date | null;
}

function toRuleSet(row: {
  id: number;
  version: number;
  active: boolean;
  definition: unknown;
  created_by: string | null;
  created_at: Date;
  activated_at: Date | null;
}): RuleSet {
  return {
    id: row.id,
    version: row.version,
    active: row.active,
    definition: ruleSetDefinitionSchema.parse(row.definition),
    createdBy: row.created_by,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
  };
}

/** Installs the shipped rule set as version 1, active, when there is none. */
export async function ensureDefaultRuleSet(db: Db): Promise<void> {
  await db
    .insertInto('alert_rule_sets')
    .values({ version: 1, definition: jsonb(DEFAULT_RULE_SET), active: true, created_by: 'system', activated_at: sql`now()` })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** The active rule set (the default is installed first if there is none yet). */
export async function activeRuleSet(db: Db): Promise<RuleSet | undefined> {
  await ensureDefaultRuleSet(db);
  const row = await db.selectFrom('alert_rule_sets').selectAll().where('active', '=', true).executeTakeFirst();
  return row ? toRuleSet(row) : undefined;
}

export async function listRuleSets(db: Db): Promise<RuleSet[]> {
  await ensureDefaultRuleSet(db);
  return (await db.selectFrom('alert_rule_sets').selectAll().orderBy('version').execute()).map(toRuleSet);
}

export async function findRuleSet(db: Db, id: number): Promise<RuleSet | undefined> {
  const row = await db.selectFrom('alert_rule_sets').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRuleSet(row) : undefined;
}

/** Adds the next version (inactive until activated). Two at once: one fails with 23505. */
export async function createRuleSetVersion(db: Db, definition: RuleSetDefinition, createdBy: string | null): Promise<RuleSet> {
  await ensureDefaultRuleSet(db);
  const row = await db
    .insertInto('alert_rule_sets')
    .values({
      version: nextVersion(RULE_SETS, null),
      definition: jsonb(definition),
      created_by: createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRuleSet(row);
}

/** Makes a version the active one (the caller owns the transaction). */
export async function activateRuleSet(trx: Db, id: number): Promise<RuleSet | undefined> {
  return (await activateVersion(trx, RULE_SETS, id)) ? findRuleSet(trx, id) : undefined;
}
