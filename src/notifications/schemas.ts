import { z } from 'zod';
import { isValidTimeZone } from '../follow-ups/working-time.js';
import { destinationUrlSchema } from '../outbox/http.js';
import { CHANNEL_KINDS, LANGUAGES, PERSONAL_EVENTS, ROUTE_EVENTS, SEVERITIES } from './model.js';
import { clockText, parseClockText } from './time.js';

export { emailParams } from '../follow-ups/schemas.js';

const clock = z
  .string()
  .refine((v) => parseClockText(v) !== undefined, 'must be a time HH:MM (00:00–23:59)')
  .transform((v) => parseClockText(v)!)
  .meta({ example: '08:00' });

const timeZone = z
  .string()
  .max(100)
  .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin or Asia/Shanghai')
  .meta({ example: 'Asia/Shanghai' });

export const preferencesBodySchema = z
  .strictObject({
    events: z
      .array(z.enum(PERSONAL_EVENTS))
      .max(PERSONAL_EVENTS.length * 2)
      .optional()
      .meta({ description: 'What reaches this person; an empty list turns notifications off' }),
    channelId: z.number().int().positive().nullable().optional().meta({ description: 'A chat channel (team or own); null: email' }),
    language: z.enum(LANGUAGES).optional(),
    timezone: timeZone.nullable().optional().meta({ description: "null: the team member's zone, else UTC" }),
    quietHours: z
      .strictObject({ start: clock, end: clock })
      .refine((q) => q.start !== q.end, 'start and end must differ')
      .nullable()
      .optional()
      .meta({ description: 'Local times; the window may cross midnight (21:00–07:00). null: none' }),
    digestTime: clock.optional().meta({ description: 'Local time of the daily digest (default 08:00)' }),
    digestDays: z
      .array(z.number().int().min(1).max(7))
      .min(1)
      .max(7)
      .nullable()
      .optional()
      .meta({ description: "ISO weekdays (1 = Monday); null: the member's working days" }),
    emailActive: z
      .boolean()
      .optional()
      .meta({ description: '`true` re-enables email to this person after the mail server refused the address; `false` pauses it' }),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change');

/** The preferences a body changes, as savePreferences takes them (the API and the CLI read the same body). */
export const preferenceChanges = (body: z.output<typeof preferencesBodySchema>) => ({
  events: body.events,
  channelId: body.channelId,
  language: body.language,
  timezone: body.timezone,
  quietHours: body.quietHours,
  digestMinute: body.digestTime,
  digestDays: body.digestDays,
});

export const preferencesSchema = z
  .object({
    email: z.string(),
    name: z.string(),
    events: z.array(z.enum(PERSONAL_EVENTS)),
    channelId: z.number().nullable(),
    language: z.enum(LANGUAGES),
    timezone: z.string(),
    quietHours: z.object({ start: z.string(), end: z.string() }).nullable(),
    digestTime: z.string(),
    digestDays: z.array(z.number()),
    saved: z.boolean().meta({ description: 'false: never saved, all defaults' }),
    emailStatus: z
      .object({ active: z.boolean(), disabledReason: z.string().nullable() })
      .meta({ description: 'Email to this person: disabled when the mail server refused the address permanently' }),
    updatedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'NotificationPreferences' });

export const preferencesJson = (p: import('./preferences.js').Preferences) => ({
  email: p.email,
  name: p.name,
  events: p.events,
  channelId: p.channelId,
  language: p.language,
  timezone: p.timezone,
  quietHours: p.quietHours ? { start: clockText(p.quietHours.start), end: clockText(p.quietHours.end) } : null,
  digestTime: clockText(p.digestMinute),
  digestDays: p.digestDays,
  saved: p.saved,
  emailStatus: p.emailStatus,
  updatedAt: p.updatedAt?.toISOString() ?? null,
});

const chatUrl = destinationUrlSchema.meta({ description: "The chat tool's webhook URL (WeCom: with `?key=`; DingTalk: with `?access_token=`)" });

const name = z.string().trim().min(1).max(100);
const signingSecret = z.string().trim().min(1).max(500).meta({ description: 'DingTalk `SEC…` secret or Feishu signing secret; never shown again' });

export const channelCreateSchema = z.strictObject({
  name,
  kind: z.enum(CHANNEL_KINDS),
  url: chatUrl,
  signingSecret: signingSecret.nullish(),
  language: z.enum(LANGUAGES).default('en'),
  owner: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address')
    .nullish()
    .meta({ description: "A team member whose own channel this is; omit for a team channel" }),
});

export const channelPatchSchema = z
  .strictObject({
    name: name.optional(),
    url: chatUrl.optional(),
    signingSecret: signingSecret.nullable().optional(),
    language: z.enum(LANGUAGES).optional(),
    active: z.boolean().optional().meta({ description: '`true` re-enables a channel disabled after failures' }),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change');

export const channelSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    kind: z.enum(CHANNEL_KINDS),
    language: z.enum(LANGUAGES),
    owner: z.string().nullable(),
    host: z.string().meta({ description: 'Only the host of the URL: a chat webhook URL is a credential' }),
    signed: z.boolean(),
    active: z.boolean(),
    disabledReason: z.string().nullable(),
    disabledAt: z.iso.datetime().nullable(),
    failingSince: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'NotificationChannel' });

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const channelJson = (c: import('./channels.js').Channel) => ({
  id: c.id,
  name: c.name,
  kind: c.kind,
  language: c.language,
  owner: c.owner,
  host: c.host,
  signed: c.signed,
  active: c.active,
  disabledReason: c.disabledReason,
  disabledAt: iso(c.disabledAt),
  failingSince: iso(c.failingSince),
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

export const routeCreateSchema = z.strictObject({
  eventTypes: z.array(z.enum(ROUTE_EVENTS)).min(1).max(10),
  segments: z.array(z.string().trim().min(1).max(100)).min(1).max(50).nullish().meta({ description: 'Account segments; omit: any' }),
  severities: z.array(z.enum(SEVERITIES)).min(1).max(4).nullish().meta({ description: 'Alert severities; omit: any' }),
});

export const routeSchema = z
  .object({
    id: z.number(),
    channelId: z.number(),
    eventTypes: z.array(z.enum(ROUTE_EVENTS)),
    segments: z.array(z.string()).nullable(),
    severities: z.array(z.enum(SEVERITIES)).nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'NotificationRoute' });

export const routeJson = (r: import('./channels.js').RouteInfo) => ({ ...r, createdAt: r.createdAt.toISOString() });

export const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) });

export const previewSchema = z
  .object({ subject: z.string(), text: z.string(), html: z.string() })
  .meta({ id: 'NotificationPreview' });
