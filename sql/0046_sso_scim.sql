-- Company sign-in (#25): OpenID Connect single sign-on and SCIM 2.0
-- provisioning. See docs/security.md and src/sso/, src/scim/.

-- People who only ever sign in through the identity provider have no password.
alter table people alter column password_hash drop not null;
-- How the person came to be: by an admin (local), at a first SSO sign-in, or by SCIM.
alter table people add column source text not null default 'local' check (source in ('local', 'sso', 'scim'));
-- The identity provider's subject (issuer and sub): the stable link between a person and their IdP account.
alter table people add column sso_subject text unique check (length(sso_subject) <= 1000);
-- The IdP's own id for the person (SCIM externalId).
alter table people add column external_id text unique check (length(external_id) <= 500);
-- The groups the IdP last reported (the ID token's groups claim, or SCIM group membership).
alter table people add column idp_groups text[] not null default '{}';

-- An SSO session keeps its ID token, the id_token_hint of the provider's sign-out.
alter table web_sessions add column sso_id_token text;

-- Which roles an IdP group grants; a person with no mapped group gets no access.
create table sso_group_roles (
  group_name text primary key check (length(group_name) between 1 and 500),
  roles      text[] not null check (cardinality(roles) between 1 and 6
               and roles <@ '{csm,retention,dispatcher,manager,analyst,admin}'::text[]),
  updated_at timestamptz not null default now()
);
create trigger audit after insert or update or delete on sso_group_roles
  for each row execute function audit_capture('always', '*', 'sso_group_mapping');

-- An authorization request on its way to the provider and back: single use.
-- Keyed by the SHA-256 of `state` (the browser also holds state in a cookie).
create table sso_pending (
  state_hash    text primary key,
  code_verifier text not null,
  nonce         text not null,
  next_path     text,
  created_at    timestamptz not null default now()
);
create index sso_pending_created_idx on sso_pending (created_at);

-- SCIM groups (RFC 7643 §4.2), and who is in them.
create table scim_groups (
  id           bigint generated always as identity primary key,
  display_name text not null unique check (length(display_name) between 1 and 500),
  external_id  text unique check (length(external_id) <= 500),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);
create table scim_group_members (
  group_id  bigint not null references scim_groups (id) on delete cascade,
  person_id bigint not null references people (id) on delete cascade,
  primary key (group_id, person_id)
);
create index scim_group_members_person_idx on scim_group_members (person_id);
create trigger audit after insert or update or delete on scim_groups
  for each row execute function audit_capture('always', 'id,display_name,external_id', 'scim_group');
create trigger audit after insert or delete on scim_group_members
  for each row execute function audit_capture('always', '*', 'scim_group_member');

-- The `scim` scope: a key an identity provider provisions with.
alter table api_keys drop constraint api_keys_scopes_check;
alter table api_keys add constraint api_keys_scopes_check
  check (scopes <@ array['read', 'write', 'ingest', 'admin', 'scim']::text[] and cardinality(scopes) > 0);
