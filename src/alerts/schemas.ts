import { z } from 'zod';
import { feedCursorSchema } from '../http/cursor.js';
import { ruleSetDefinitionSchema, SEVERITIES } from './rules.js';

export const STATUSES = ['open', 'acknowledged', 'snoozed', 'resolved'] as const;
export const OUTCOMES = ['saved', 'churned', 'false_alarm', 'other'] as const;

const hasNul = (s: string) => s.includes('\u0000');
const text = (max: number) => z.string().trim().min(1).max(max).refine((s) => !hasNul(s), 'must not contain NUL characters');

/** A comma-separated list of allowed values, as a query parameter. */
const csvOf = <T extends string>(values: readonly T[], what: string) =>
  z
    .string()
    .max(200)
    .transform((value, ctx) => {
      const parts = [...new Set(value.split(',').map((p) => p.trim()).filter(Boolean))];
      const unknown = parts.filter((p) => !(values as readonly string[]).includes(p));
      if (parts.length === 0 || unknown.length) {
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of ${values.join(', ')}` });
        return z.NEVER;
      }
      return parts as T[];
    })
    .meta({ description: `One or more ${what}, comma-separated: ${values.join(', ')}` });

export const alertIdParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) });

export const listQuerySchema = z.object({
  status: csvOf(STATUSES, 'statuses').optional(),
  severity: csvOf(SEVERITIES, 'severities').optional(),
  assignee: text(200).optional().meta({ description: 'Only alerts assigned to this person' }),
  unassigned: z.enum(['true', 'false']).optional().meta({ description: '`true`: only alerts nobody has' }),
  rule: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a rule key').optional(),
  account: text(200).optional().meta({ description: "The account's externalId" }),
  cursor: feedCursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const alertSchemaBase = z.object({
  id: z.number(),
  account: z.object({ externalId: z.string(), name: z.string() }),
  ruleKey: z.string(),
  ruleType: z.string(),
  ruleSetVersion: z.number(),
  severity: z.enum(SEVERITIES),
  status: z.enum(STATUSES),
  assignee: z.string().nullable(),
  assignedVia: z.enum(['retention_owner', 'pool', 'manual']).nullable(),
  reasons: z.array(z.string()).meta({ description: "The rule's own sentence first, then the score explanation's weakest measures" }),
  metrics: z.record(z.string(), z.unknown()).meta({ description: 'The numbers that triggered the alert' }),
  openedAt: z.string(),
  updatedAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  snoozedUntil: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  resolution: z.enum(['manual', 'condition_cleared', 'rule_removed', 'scorecard_changed', 'rules_changed']).nullable(),
  resolvedBy: z.string().nullable(),
  outcome: z.enum(OUTCOMES).nullable(),
  outcomeNote: z.string().nullable(),
});
export const alertSchema = alertSchemaBase.meta({ id: 'Alert' });

export const alertDetailSchema = alertSchemaBase
  .extend({
    history: z.array(
      z.object({
        action: z.string(),
        actor: z.string().meta({ description: "The API key's name, or `system`" }),
        at: z.string(),
        details: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .meta({ id: 'AlertWithHistory' });

export const alertListSchema = z.object({ items: z.array(alertSchema), nextCursor: z.string().nullable(), hasMore: z.boolean() });

export const snoozeSchema = z.object({
  until: z.iso
    .datetime({ offset: true })
    .refine((s) => Date.parse(s) > Date.now(), 'must be in the future')
    .refine((s) => Date.parse(s) < Date.now() + 90 * 86400e3, 'must be within 90 days'),
  note: text(2000).optional(),
});

export const assignSchema = z.object({
  assignee: text(200).meta({ example: 'sam@example.com' }),
  note: text(2000).optional(),
});

export const resolveSchema = z
  .object({
    outcome: z.enum(OUTCOMES),
    note: text(2000).optional(),
  })
  .refine((b) => b.outcome !== 'other' || b.note !== undefined, { message: "a note is required when the outcome is 'other'", path: ['note'] });

export const outcomesQuerySchema = z.object({
  since: z.iso.datetime({ offset: true }).optional().meta({ description: 'Only alerts opened since then' }),
});

export const outcomesSchema = z.object({
  items: z.array(
    z.object({
      ruleKey: z.string(),
      ruleType: z.string(),
      unresolved: z.number(),
      resolved: z.number(),
      outcomes: z.object({ saved: z.number(), churned: z.number(), false_alarm: z.number(), other: z.number(), unrecorded: z.number() }),
      resolutions: z.object({
        manual: z.number(),
        condition_cleared: z.number(),
        rule_removed: z.number(),
        scorecard_changed: z.number(),
        rules_changed: z.number(),
      }),
    }),
  ),
});

export const ruleSetSchema = z
  .object({
    id: z.number(),
    version: z.number(),
    active: z.boolean(),
    definition: ruleSetDefinitionSchema,
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    activatedAt: z.string().nullable(),
  })
  .meta({ id: 'AlertRuleSet' });

export const createRuleSetSchema = z.object({ definition: ruleSetDefinitionSchema });
export const ruleSetIdParams = alertIdParams;

export const poolMemberParams = z.object({
  member: text(200)
    .regex(/^[^/\s][^/]*$/, 'must not start with a space or contain a slash')
    .meta({ example: 'sam@example.com' }),
});
export const poolSchema = z.object({
  items: z.array(z.object({ member: z.string(), addedBy: z.string().nullable(), addedAt: z.string(), unresolvedAlerts: z.number() })),
});

export const watchListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const watchListSchema = z.object({
  budget: z.object({
    limit: z.number().nullable().meta({ description: 'Accounts that may have an unresolved alert at once (null: no budget)' }),
    alertedAccounts: z.number(),
    accounts: z.number(),
    specialists: z.number(),
  }),
  total: z.number(),
  items: z.array(
    z.object({
      account: z.object({ externalId: z.string(), name: z.string() }),
      ruleKey: z.string(),
      ruleType: z.string(),
      severity: z.string(),
      expectedLoss: z.number().meta({ description: 'Churn probability × ARR (fitted scorecard), else (100 − score)/100 × ARR' }),
      reasons: z.array(z.string()),
      since: z.string(),
    }),
  ),
});
