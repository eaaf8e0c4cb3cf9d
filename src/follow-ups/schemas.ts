import { z } from 'zod';
import { feedCursorSchema } from '../http/cursor.js';
import { csvPattern } from '../http/openapi-rules.js';
import { KINDS, playbookDefinitionSchema, playbookKeySchema } from './playbooks.js';
import { isValidTimeZone, parseClock } from './working-time.js';

export const STATUSES = ['scheduled', 'done', 'cancelled', 'missed'] as const;
export const OUTCOMES = ['resolved', 'unresolved', 'no_answer', 'rescheduled'] as const;
export const CAUSE_TYPES = ['alert', 'ticket', 'survey', 'contract', 'band_change', 'periodic'] as const;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const noNul = (s: string) => !s.includes('\u0000');

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address')
  .meta({ example: 'dana@example.com' });

const text = (max: number) => z.string().trim().max(max).refine(noNul, 'must not contain NUL characters');

export const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) });
export const emailParams = z.object({ email: emailSchema });

/* ---- follow-ups ---- */

const dateTime = z.iso.datetime({ offset: true });

export const listQuerySchema = z.object({
  assignee: emailSchema.optional().meta({ description: 'Only follow-ups assigned to this email' }),
  status: z
    .string()
    .max(100)
    .transform((value, ctx) => {
      const list = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
      const bad = list.filter((s) => !(STATUSES as readonly string[]).includes(s));
      if (bad.length > 0 || list.length === 0) {
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of ${STATUSES.join(', ')}` });
        return z.NEVER;
      }
      return list as (typeof STATUSES)[number][];
    })
    .optional()
    .meta({ description: 'One status or a comma-separated list, e.g. `scheduled,missed`', pattern: csvPattern(STATUSES) }),
  due_from: dateTime.optional().meta({ description: 'Due at or after (ISO 8601 with offset)' }),
  due_to: dateTime.optional().meta({ description: 'Due before (ISO 8601 with offset)' }),
  account: z.string().min(1).max(200).optional().meta({ description: 'Only this account (external id)' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: feedCursorSchema.optional(),
});

export const followUpSchema = z
  .object({
    id: z.number().int(),
    account: z.object({ externalId: z.string(), name: z.string() }),
    playbook: z.object({ key: z.string(), version: z.number().int() }),
    anchor: z.string().meta({ description: 'What it answers, unique per account and playbook: `survey:<id>`, `ticket:<id>`, `contract:<id>:90`, `periodic:2026-11`…' }),
    kind: z.enum(KINDS),
    title: z.string(),
    reason: z.string(),
    cause: z.object({ type: z.enum(CAUSE_TYPES), ref: z.string() }).meta({ description: 'The typed link to the cause; the same account and cause is "the same problem"' }),
    assignee: z.string().nullable(),
    timezone: z.string().meta({ description: 'The zone whose working hours `dueAt` lies in' }),
    dueAt: z.iso.datetime(),
    status: z.enum(STATUSES),
    outcome: z.enum(OUTCOMES).nullable(),
    notes: z.string().nullable(),
    completedAt: z.iso.datetime().nullable(),
    cancelledAt: z.iso.datetime().nullable(),
    cancelReason: z.string().nullable(),
    missedAt: z.iso.datetime().nullable(),
    dueNotifiedAt: z.iso.datetime().nullable().meta({ description: 'When follow_up.due was emitted' }),
    escalation: z
      .object({ to: z.string().nullable(), at: z.iso.datetime(), reason: z.string() })
      .nullable()
      .meta({ description: 'Set once: overdue, or a second unresolved outcome on the same problem' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'FollowUp' });

export const listResponseSchema = z.object({
  items: z.array(followUpSchema),
  nextCursor: z.string().nullable(),
  hasMore: z.boolean(),
});

export const completeBodySchema = z.strictObject({
  outcome: z.enum(OUTCOMES),
  notes: text(10_000).nullish(),
});

export const rescheduleBodySchema = z.strictObject({
  dueAt: dateTime.meta({ description: 'New due time; moved forward to the next working moment of the assignee when outside working hours' }),
});

export const cancelBodySchema = z.strictObject({ reason: text(2_000).nullish() });

export const assignBodySchema = z.strictObject({ assignee: emailSchema });

/* ---- team ---- */

const clock = z
  .string()
  .refine((s) => parseClock(s) !== undefined, 'must be HH:MM, 00:00 to 24:00')
  .transform((s) => parseClock(s)!);

export const teamMemberBodySchema = z
  .strictObject({
    name: text(200).pipe(z.string().min(1)),
    timezone: z
      .string()
      .max(100)
      .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin')
      .nullish()
      .meta({ description: 'Null: each follow-up uses its account’s zone (or UTC)' }),
    workingHours: z
      .strictObject({ start: clock, end: clock })
      .refine((h) => h.start < h.end, 'start must be before end')
      .prefault({ start: '09:00', end: '17:00' })
      .meta({ description: 'Local time; default 09:00–17:00', example: { start: '09:00', end: '17:00' } }),
    workingDays: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .max(7)
      .transform((days) => [...new Set(days)].map((d) => WEEKDAYS.indexOf(d) + 1).sort((a, b) => a - b))
      .prefault(['mon', 'tue', 'wed', 'thu', 'fri'])
      .meta({ description: 'Default Monday to Friday' }),
    dailyCapacity: z.int().min(1).max(1000).default(8).meta({ description: 'Most follow-ups due on one local day' }),
    managerEmail: emailSchema.nullish().meta({ description: 'Who overdue follow-ups escalate to' }),
  })
  .meta({ id: 'TeamMemberInput' });

export const teamMemberSchema = z
  .object({
    email: z.string(),
    name: z.string(),
    timezone: z.string().nullable(),
    workingHours: z.object({ start: z.string(), end: z.string() }),
    workingDays: z.array(z.enum(WEEKDAYS)),
    dailyCapacity: z.number().int(),
    managerEmail: z.string().nullable(),
    calendarTokenCreatedAt: z.iso.datetime().nullable().meta({ description: 'When the current calendar URL was issued; null: none' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'TeamMember' });

export const calendarTokenSchema = z.object({
  url: z.string().meta({ description: 'The secret iCalendar URL; shown this once. Rotating again invalidates it.' }),
  createdAt: z.iso.datetime(),
});

/* ---- playbooks ---- */

export const playbookSchema = z
  .object({
    id: z.number().int(),
    key: z.string(),
    version: z.number().int(),
    active: z.boolean(),
    definition: z.looseObject({}).meta({ description: 'A PlaybookDefinition, with defaults filled in' }),
    createdAt: z.iso.datetime(),
    activatedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Playbook' });

export const createPlaybookSchema = z.strictObject({
  key: playbookKeySchema.meta({ description: 'An existing key gets its next version; a new key starts at 1', example: 'nps-detractor-callback' }),
  definition: playbookDefinitionSchema,
});

export const playbookListQuery = z.object({ key: playbookKeySchema.optional() });

export const calendarParams = z.object({
  file: z.string().max(200).meta({ description: '`<token>.ics`: the secret token of a team member’s calendar URL' }),
});
