import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Timestamp } from './types.js';
import type { AlertTables } from './tables/alerts.js';
import type { FollowUpTables } from './tables/follow-ups.js';
import type { JobTables } from './tables/jobs.js';
import type { NotificationTables } from './tables/notifications.js';
import type { PeopleTables } from './tables/people.js';
import type { ScoringTables } from './tables/scoring.js';
import type { OutboundWebhookTables } from './tables/webhooks.js';

/**
 * The checked-in shape of the database. Keep it in step with `sql/`;
 * Keep this file in step with sql/ by hand.
 *
 * Both drivers are set up (src/db/types.ts) so int8 and numeric come back as
 * numbers and `date` as a `YYYY-MM-DD` string.
 */
type Json = Record<string, unknown>;

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string[];
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface BootstrapTable {
  singleton: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface ChangeClocksTable {
  feed: string;
  seq: number;
}

export interface AccountsTable {
  id: Generated<number>;
  external_id: string;
  name: string;
  segment: string | null;
  tier: string | null;
  owner: string | null;
  retention_owner: string | null;
  seats: number | null;
  arr: number | null;
  currency: string | null;
  timezone: string | null;
  lifecycle_stage: string | null;
  renewal_date: string | null;
  attributes: Json;
  archived_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  change_seq: Generated<number>;
}

export interface UsageEventsTable {
  account_id: number;
  event_id: string;
  occurred_at: Timestamp;
  metric: string;
  quantity: Generated<number>;
  user_id: string | null;
  received_at: Generated<Date>;
}

export interface UsageDailyTable {
  account_id: number;
  day: string;
  metric: string;
  events: number;
  quantity: number;
  active_users: number;
}

export interface UsageDailyUsersTable {
  account_id: number;
  day: string;
  metric: string;
  user_id: string;
}

export interface TicketsTable {
  account_id: number;
  ticket_id: string;
  subject: string | null;
  status: string;
  priority: string;
  kind: string | null;
  opened_at: Timestamp;
  first_response_at: Timestamp | null;
  solved_at: Timestamp | null;
  reopen_count: Generated<number>;
  escalated: Generated<boolean>;
  sla_breached: Generated<boolean>;
  satisfaction: string | null;
  source_updated_at: Timestamp;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SurveyResponsesTable {
  account_id: number;
  response_id: string;
  kind: string;
  score: number;
  comment: string | null;
  respondent: string | null;
  responded_at: Timestamp;
  created_at: Generated<Date>;
}

export interface ContractsTable {
  account_id: number;
  contract_id: string;
  start_date: string;
  end_date: string;
  arr: number;
  currency: string | null;
  seats: number | null;
  auto_renew: Generated<boolean>;
  status: string;
  payment_status: Generated<string>;
  source_updated_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ContractHistoryTable {
  account_id: number;
  contract_id: string;
  changed_at: Generated<Date>;
  status: string;
  payment_status: string;
  arr: number;
  seats: number | null;
  end_date: string;
}

export interface RescoreQueueTable {
  account_id: number;
  marked_at: Generated<Date>;
  /** While in the future, a rescoring run holds the row (sql/0009). */
  claimed_until: Date | null;
}

export interface IdempotencyKeysTable {
  api_key_id: number;
  idempotency_key: string;
  request_hash: string;
  response_status: number;
  response_type: string | null;
  response_body: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

export interface WebhookSourcesTable {
  name: string;
  created_at: Generated<Date>;
}

export interface WebhookSourceSecretsTable {
  source: string;
  id: Generated<number>;
  secret: string;
  created_at: Generated<Date>;
  expires_at: Timestamp | null;
}

export interface InboundWebhookMessagesTable {
  source: string;
  webhook_id: string;
  received_at: Generated<Date>;
}

/**
 * Every table. Features from 0004 on keep their table types beside their code
 * (src/<feature>/tables.ts); they are all part of this one type.
 */
export interface Database extends ScoringTables, OutboundWebhookTables, JobTables, AlertTables, FollowUpTables, NotificationTables, PeopleTables {
  api_keys: ApiKeysTable;
  bootstrap: BootstrapTable;
  change_clocks: ChangeClocksTable;
  accounts: AccountsTable;
  usage_events: UsageEventsTable;
  usage_daily: UsageDailyTable;
  usage_daily_users: UsageDailyUsersTable;
  tickets: TicketsTable;
  survey_responses: SurveyResponsesTable;
  contracts: ContractsTable;
  contract_history: ContractHistoryTable;
  rescore_queue: RescoreQueueTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_sources: WebhookSourcesTable;
  webhook_source_secrets: WebhookSourceSecretsTable;
  inbound_webhook_messages: InboundWebhookMessagesTable;
}

export type AccountRow = Selectable<AccountsTable>;
export type NewAccountRow = Insertable<AccountsTable>;
export type AccountUpdate = Updateable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
