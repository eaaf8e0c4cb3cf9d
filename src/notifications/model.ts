/**
 * What a notification is about, as stored in its outbox event's payload
 * (`{ notification: … }`). Text is rendered from it at send time, in its
 * language (templates.ts), so a retry or a replay sends the same message.
 */

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

/** What a person can choose to hear about. */
export const PERSONAL_EVENTS = [
  'alert_assigned',
  'alert_on_my_accounts',
  'follow_up_due',
  'follow_up_overdue',
  'band_change',
  'daily_digest',
] as const;
export type PersonalEvent = (typeof PERSONAL_EVENTS)[number];

/** Assignees hear about their own alerts and follow-ups; everyone gets the morning digest. */
export const DEFAULT_EVENTS: readonly PersonalEvent[] = ['alert_assigned', 'follow_up_due', 'follow_up_overdue', 'daily_digest'];

/** What a team channel's route can select. */
export const ROUTE_EVENTS = ['alert_opened', 'alert_resolved', 'band_change', 'follow_up_due', 'follow_up_overdue'] as const;
export type RouteEvent = (typeof ROUTE_EVENTS)[number];

export const CHANNEL_KINDS = ['slack', 'teams', 'wecom', 'dingtalk', 'feishu'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** Delivery formats of notification subscriptions: the chat kinds and email. */
export type NotificationFormat = ChannelKind | 'email';
export const isNotificationFormat = (format: string): format is NotificationFormat =>
  format === 'email' || (CHANNEL_KINDS as readonly string[]).includes(format);

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type NotificationKind = PersonalEvent | RouteEvent | 'channel_test';

export interface AccountPart {
  externalId: string;
  name: string;
  score: number | null;
  band: string | null;
  previousBand?: string | null;
}

export interface DigestAccount {
  externalId: string;
  name: string;
  score: number | null;
  /** What moved it: measure labels with points, largest loss first, or the weakest measures' sentences. */
  moved: string[];
}

export interface DigestAlert {
  id: number;
  severity: Severity;
  account: { externalId: string; name: string };
  reason: string | null;
}

export interface DigestFollowUp {
  id: number;
  title: string;
  kind: string;
  dueAt: string;
  account: { externalId: string; name: string };
}

export interface DigestRenewal {
  account: { externalId: string; name: string };
  date: string;
  days: number;
}

export interface DigestContent {
  /** The person's local date the digest is for, `YYYY-MM-DD`. */
  date: string;
  red: DigestAccount[];
  newlyYellow: DigestAccount[];
  /** Open alerts assigned to the person, most severe first. */
  alerts: DigestAlert[];
  followUpsToday: DigestFollowUp[];
  followUpsOverdue: DigestFollowUp[];
  renewals: DigestRenewal[];
}

export interface NotificationPayload {
  kind: NotificationKind;
  language: Language;
  /** Times are shown in this zone. */
  timezone: string;
  /** The person it is for; null for a team channel. */
  recipient: { email: string; name: string } | null;
  account?: AccountPart;
  alert?: { id: number; severity: string; ruleKey: string; status: string; assignee: string | null; reasons: string[]; resolution?: string | null };
  followUp?: { id: number; title: string; kind: string; dueAt: string; assignee: string | null; escalatedTo?: string | null };
  digest?: DigestContent;
}

/** The outbox event type of a notification: `notification.<kind>`, never one a webhook subscription can ask for. */
export const notificationEventType = (kind: NotificationKind) => `notification.${kind}`;
