import type { Generated } from 'kysely';
import type { Timestamp } from '../types.js';

/** Tables of sql/0020_notifications.sql (the outbox columns it adds are in src/db/tables/webhooks.ts). */
export interface NotificationTables {
  notification_channels: {
    id: Generated<number>;
    name: string;
    kind: 'slack' | 'teams' | 'wecom' | 'dingtalk' | 'feishu';
    language: Generated<'en' | 'zh-CN'>;
    subscription_id: number;
    owner_email: string | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  notification_routes: {
    id: Generated<number>;
    channel_id: number;
    event_types: string[];
    segments: string[] | null;
    severities: string[] | null;
    created_at: Generated<Date>;
  };
  notification_preferences: {
    member_email: string;
    events: string[];
    channel_id: number | null;
    language: Generated<'en' | 'zh-CN'>;
    timezone: string | null;
    quiet_start: number | null;
    quiet_end: number | null;
    digest_minute: Generated<number>;
    digest_days: number[] | null;
    updated_at: Generated<Date>;
  };
  notification_digests: {
    member_email: string;
    local_date: string;
    event_id: string | null;
    created_at: Generated<Timestamp>;
  };
}
