import type { Generated } from 'kysely';
import type { Timestamp } from '../types.js';

/** Tables of sql/0005_outbound_webhooks.sql. */
export interface OutboundWebhookTables {
  webhook_subscriptions: {
    id: Generated<number>;
    url: string;
    event_types: string[];
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: Timestamp | null;
    format: Generated<'standard' | 'slack' | 'teams' | 'wecom' | 'dingtalk' | 'feishu' | 'email'>;
    /** `notification`: a channel of src/notifications (sql/0020), hidden from the webhook API. */
    purpose: Generated<'webhook' | 'notification'>;
    /** The vendor's signing secret (DingTalk, Feishu). */
    signing_secret: string | null;
    description: string | null;
    owner_contact: string | null;
    active: Generated<boolean>;
    disabled_reason: string | null;
    disabled_at: Timestamp | null;
    failing_since: Timestamp | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  webhook_events: {
    id: string;
    type: string;
    subject_account_id: number | null;
    payload: unknown;
    occurred_at: Timestamp;
    created_at: Generated<Date>;
  };
  webhook_deliveries: {
    id: Generated<number>;
    event_id: string;
    subscription_id: number;
    replay_of: number | null;
    status: Generated<'pending' | 'succeeded' | 'failed'>;
    attempt: Generated<number>;
    next_attempt_at: Timestamp | null;
    lease_token: string | null;
    leased_until: Timestamp | null;
    last_status_code: number | null;
    last_error: string | null;
    last_attempt_at: Timestamp | null;
    delivered_at: Timestamp | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  webhook_delivery_attempts: {
    delivery_id: number;
    attempt: number;
    started_at: Timestamp;
    finished_at: Timestamp | null;
    duration_ms: number | null;
    status_code: number | null;
    outcome: 'succeeded' | 'failed' | 'abandoned' | null;
    error: string | null;
  };
}
