-- Notifications to people and team channels: email and chat tools, delivered
-- through the outbox of sql/0005 (docs/notifications.md, src/notifications/).

-- The outbox learns new delivery formats. A notification's channel is a
-- webhook_subscriptions row of purpose 'notification': the generic webhook API
-- neither lists nor changes those, and enqueueEvents never fans out to them
-- (their event_types is '{notification}', no event's type).
alter table webhook_subscriptions drop constraint webhook_subscriptions_format_check;
alter table webhook_subscriptions add constraint webhook_subscriptions_format_check
  check (format in ('standard', 'slack', 'teams', 'wecom', 'dingtalk', 'feishu', 'email'));
alter table webhook_subscriptions drop constraint webhook_subscriptions_url_check;
alter table webhook_subscriptions add constraint webhook_subscriptions_url_check
  check ((url ~ '^https?://' or (format = 'email' and url ~ '^mailto:[^@\s]+@[^@\s]+$')) and length(url) <= 2048);
alter table webhook_subscriptions add column purpose text not null default 'webhook' check (purpose in ('webhook', 'notification'));
-- the vendor's signing secret (DingTalk, Feishu); never shown after it is set
alter table webhook_subscriptions add column signing_secret text check (length(signing_secret) between 1 and 500);
-- one email "subscription" per address: created on first use, concurrently safe
create unique index webhook_subscriptions_email_url on webhook_subscriptions (url) where format = 'email';

-- Chat channels: a person's own, or a team's.
create table notification_channels (
  id              bigint generated always as identity primary key,
  name            text not null unique check (length(name) between 1 and 100),
  kind            text not null check (kind in ('slack', 'teams', 'wecom', 'dingtalk', 'feishu')),
  language        text not null default 'en' check (language in ('en', 'zh-CN')),
  -- deleting the subscription (or the channel through the API) removes both
  subscription_id bigint not null unique references webhook_subscriptions (id) on delete cascade,
  -- a person's own channel; null: a team channel
  owner_email     text references team_members (email) on delete cascade,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);

-- Which events go to which team channel: all conditions must hold; a null
-- list matches anything.
create table notification_routes (
  id          bigint generated always as identity primary key,
  channel_id  bigint not null references notification_channels (id) on delete cascade,
  event_types text[] not null check (cardinality(event_types) between 1 and 10
                 and event_types <@ '{alert_opened,alert_resolved,band_change,follow_up_due,follow_up_overdue}'::text[]),
  segments    text[] check (cardinality(segments) between 1 and 50),
  severities  text[] check (cardinality(severities) between 1 and 4 and severities <@ '{low,medium,high,critical}'::text[]),
  created_at  timestamptz not null default now()
);
create index notification_routes_channel_idx on notification_routes (channel_id);

-- A person's preferences; a team member without a row has the defaults.
create table notification_preferences (
  member_email  text primary key references team_members (email) on delete cascade,
  events        text[] not null check (cardinality(events) <= 6
                  and events <@ '{alert_assigned,alert_on_my_accounts,follow_up_due,follow_up_overdue,band_change,daily_digest}'::text[]),
  -- null: email to member_email
  channel_id    bigint references notification_channels (id) on delete set null,
  language      text not null default 'en' check (language in ('en', 'zh-CN')),
  -- IANA zone; null: the member's zone, else UTC
  timezone      text check (length(timezone) between 1 and 100),
  -- minutes after local midnight; the window may cross midnight; both null: none
  quiet_start   integer check (quiet_start between 0 and 1439),
  quiet_end     integer check (quiet_end between 0 and 1439),
  digest_minute integer not null default 480 check (digest_minute between 0 and 1439),
  -- ISO weekdays; null: the member's working days
  digest_days   integer[] check (cardinality(digest_days) between 1 and 7 and digest_days <@ '{1,2,3,4,5,6,7}'::integer[]),
  updated_at    timestamptz not null default now(),
  check ((quiet_start is null) = (quiet_end is null) and (quiet_start is null or quiet_start <> quiet_end))
);

-- One daily digest per person and local date, whichever replica makes it.
create table notification_digests (
  member_email text not null,
  local_date   date not null,
  event_id     text,
  created_at   timestamptz not null default now(),
  primary key (member_email, local_date)
);
