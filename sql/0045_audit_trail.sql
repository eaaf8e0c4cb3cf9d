-- The audit trail (#25): who changed what, when, from where, before and
-- after. See docs/security.md#audit-trail and src/audit/.
--
-- Rows are written by triggers on the audited tables (so every write path,
-- the API, the web app, the CLI and SCIM alike, records in the transaction of
-- its change) and by recordAudit() for changes that are not one row (imports,
-- erasures). Who and from where come from the transaction-local setting
-- healthscore.audit, which the request sets (src/audit/context.ts).
create table audit_log (
  id          bigint generated always as identity primary key,
  at          timestamptz not null default now(),
  -- person (people.id), key (api_keys.id), or system (a job, the CLI, a migration)
  actor_type  text not null check (actor_type in ('person', 'key', 'system')),
  actor_id    text check (length(actor_id) <= 200),
  -- the key's name; never a person's name or email (those are looked up when read, so erasing a person leaves none here)
  actor_label text check (length(actor_label) <= 200),
  ip          text check (length(ip) <= 100),
  user_agent  text check (length(user_agent) <= 500),
  request_id  text check (length(request_id) <= 200),
  action      text not null check (length(action) between 1 and 100),
  target_type text not null check (length(target_type) between 1 and 100),
  target_id   text check (length(target_id) <= 500),
  before      jsonb,
  after       jsonb
);
create index audit_log_at_idx on audit_log (at, id);
create index audit_log_target_idx on audit_log (target_type, target_id, id);

-- Append-only: no UPDATE ever, no TRUNCATE, and DELETE only by the retention
-- prune (which sets healthscore.audit_prune for its own transaction), of rows
-- older than the shortest retention allowed.
create function audit_log_append_only() returns trigger language plpgsql as $fn$
begin
  if tg_op = 'DELETE'
     and current_setting('healthscore.audit_prune', true) = 'on'
     and old.at < now() - interval '30 days' then
    return old;
  end if;
  raise exception 'the audit trail is append-only (% refused)', tg_op using errcode = '42501';
end
$fn$;
create trigger audit_log_append_only before update or delete on audit_log
  for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_append_only();

-- Columns never copied into the trail (secrets and hashes of secrets): a
-- change shows as "[redacted: changed]".
create function audit_redact(row_data jsonb) returns jsonb language sql immutable as $fn$
  select case when row_data is null then null else coalesce(jsonb_object_agg(key, case when key = any (array['password_hash', 'key_hash', 'secret', 'previous_secret',
           'signing_secret', 'calendar_token_hash', 'id_hash', 'csrf_token', 'sso_id_token'])
           and value <> 'null'::jsonb then '"[redacted]"'::jsonb else value end), '{}'::jsonb) end
    from jsonb_each(row_data)
$fn$;

-- One trigger function for every audited table. Arguments:
--   0: 'always', or 'actor' (only changes made by a person or a key: the
--      alerts and follow-ups that scoring and the planner change on their own
--      are not "changes that matter" to the trail)
--   1: '*' (every column but the secrets) or the columns to keep, comma-separated
--   2: the target's name in the trail (scorecard, alert_rule_set, person, ...)
--   3: optional: a fixed action (scorecard_reports of kind fit: 'fitted')
create function audit_capture() returns trigger language plpgsql as $fn$
declare
  ctx jsonb := nullif(current_setting('healthscore.audit', true), '')::jsonb;
  keep text[];
  b jsonb;
  a jsonb;
  act text;
  target text := tg_argv[2];
begin
  if tg_argv[0] = 'actor' and (ctx is null or ctx ->> 'actorType' is null or ctx ->> 'actorType' = 'system') then
    return null;
  end if;
  if tg_op <> 'INSERT' then b := to_jsonb(old); end if;
  if tg_op <> 'DELETE' then a := to_jsonb(new); end if;
  if tg_argv[1] <> '*' then
    keep := string_to_array(tg_argv[1], ',');
    b := (select jsonb_object_agg(key, value) from jsonb_each(b) where key = any (keep));
    a := (select jsonb_object_agg(key, value) from jsonb_each(a) where key = any (keep));
  end if;
  if tg_op = 'UPDATE' then
    -- a secret that changed (rotation, new password) shows as changed, not as its value
    a := (select jsonb_object_agg(e.key, case when e.value is distinct from b -> e.key
                 and e.key = any (array['password_hash', 'key_hash', 'secret', 'previous_secret', 'signing_secret', 'calendar_token_hash'])
                 then '"[redacted: changed]"'::jsonb else e.value end) from jsonb_each(a) e);
    b := audit_redact(b);
    a := (select jsonb_object_agg(e.key, case when e.value = '"[redacted: changed]"'::jsonb then e.value else (audit_redact(jsonb_build_object(e.key, e.value))) -> e.key end) from jsonb_each(a) e);
    -- timestamps the service stamps on every write are not a change of their own
    if (b - 'updated_at' - 'last_seen_at' - 'last_used_at') = (a - 'updated_at' - 'last_seen_at' - 'last_used_at') then
      return null;
    end if;
  else
    b := audit_redact(b);
    a := audit_redact(a);
  end if;
  act := case tg_op when 'INSERT' then 'created' when 'DELETE' then 'deleted' else 'updated' end;
  if tg_op = 'UPDATE' then
    if a ->> 'active' = 'true' and b ->> 'active' = 'false' then act := 'activated';
    elsif a ->> 'active' = 'false' and b ->> 'active' = 'true' then act := 'deactivated';
    elsif a ->> 'status' = 'resolved' and b ->> 'status' is distinct from 'resolved' then act := 'resolved';
    elsif a ? 'assignee' and a ->> 'assignee' is distinct from b ->> 'assignee' then act := 'reassigned';
    elsif a ? 'revoked_at' and a ->> 'revoked_at' is not null and b ->> 'revoked_at' is null then act := 'revoked';
    elsif a ? 'disabled_at' and a ->> 'disabled_at' is not null and b ->> 'disabled_at' is null then act := 'deactivated';
    elsif a ? 'disabled_at' and a ->> 'disabled_at' is null and b ->> 'disabled_at' is not null then act := 'reactivated';
    elsif a ? 'roles' and a -> 'roles' is distinct from b -> 'roles' then act := 'roles_changed';
    end if;
  end if;
  if tg_argv[3] is not null then act := tg_argv[3]; end if;
  insert into audit_log (actor_type, actor_id, actor_label, ip, user_agent, request_id, action, target_type, target_id, before, after)
  values (coalesce(ctx ->> 'actorType', 'system'), ctx ->> 'actorId', ctx ->> 'actorLabel', ctx ->> 'ip', ctx ->> 'userAgent', ctx ->> 'requestId',
          target || '.' || act, target,
          coalesce(a ->> 'id', b ->> 'id', a ->> 'email', b ->> 'email', a ->> 'member', b ->> 'member', a ->> 'member_email', b ->> 'member_email',
                   a ->> 'group_name', b ->> 'group_name', a ->> 'scorecard_id'),
          b, a);
  return null;
end
$fn$;

-- Scorecards drafted (insert) and activated; fitted (a fit report saved with its draft).
create trigger audit after insert or update of active on scorecards
  for each row execute function audit_capture('always', 'id,segment_key,version,active,activated_at,definition', 'scorecard');
create trigger audit after insert on scorecard_reports
  for each row when (new.kind = 'fit') execute function audit_capture('always', 'id,kind,scorecard_id,options', 'scorecard', 'fitted');
-- Alert rules, versioned the same way.
create trigger audit after insert or update of active on alert_rule_sets
  for each row execute function audit_capture('always', 'id,version,active,activated_at,created_by,definition', 'alert_rule_set');
-- Alert resolutions and reassignments by a person or key (no free text: an erased account leaves nothing here).
create trigger audit after update of status, assignee on alerts
  for each row execute function audit_capture('actor', 'id,account_id,rule_key,status,assignee,assigned_via,resolution,resolved_by,outcome', 'alert');
create trigger audit after update of assignee, status on follow_ups
  for each row execute function audit_capture('actor', 'id,account_id,status,assignee,outcome,due_at', 'follow_up');
-- People and roles: ids and roles only; names and emails are looked up when the trail is read.
create trigger audit after insert or update of roles, disabled_at, password_hash or delete on people
  for each row execute function audit_capture('always', 'id,roles,disabled_at,password_hash,source', 'person');
create trigger audit after insert or delete on retention_pool
  for each row execute function audit_capture('always', 'member,added_by', 'retention_pool_member');
-- API keys: created, renamed, rescoped, revoked (not each use).
create trigger audit after insert or update of name, scopes, revoked_at on api_keys
  for each row execute function audit_capture('always', 'id,name,prefix,scopes,revoked_at', 'api_key');
-- Webhook subscriptions and notification channels.
create trigger audit after insert or update of url, event_types, secret, format, description, active, signing_secret or delete on webhook_subscriptions
  for each row execute function audit_capture('always', 'id,event_types,secret,signing_secret,format,description,active,disabled_reason', 'webhook_subscription');
create trigger audit after insert or update or delete on notification_channels
  for each row execute function audit_capture('always', '*', 'notification_channel');
create trigger audit after insert or update or delete on notification_routes
  for each row execute function audit_capture('always', '*', 'notification_route');
-- Settings: playbooks, team calendars, notification preferences.
create trigger audit after insert or update of active or delete on follow_up_playbooks
  for each row execute function audit_capture('always', 'id,key,version,active,definition', 'playbook');
create trigger audit after insert or update or delete on team_members
  for each row execute function audit_capture('always', '*', 'team_member');
create trigger audit after insert or update or delete on notification_preferences
  for each row execute function audit_capture('always', '*', 'notification_preferences');
