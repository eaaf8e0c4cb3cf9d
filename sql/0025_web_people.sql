-- The web app (#11): people who sign in with email and password, their
-- sessions, and failed sign-in attempts (the rate limit). See docs/web-app.md.
create table people (
  id bigint generated always as identity primary key,
  email text not null unique check (email = lower(email)),
  name text not null,
  roles text[] not null default '{}',
  password_hash text not null,
  locale text,
  disabled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Only the SHA-256 of a session id is stored; the id itself lives in the cookie.
create table web_sessions (
  id_hash text primary key,
  person_id bigint not null references people (id) on delete cascade,
  csrf_token text not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index web_sessions_person_idx on web_sessions (person_id);
create index web_sessions_expires_idx on web_sessions (expires_at);

-- One row per failed sign-in, keyed by email and by client address.
create table sign_in_failures (
  key text not null,
  at timestamptz not null default now()
);
create index sign_in_failures_key_at_idx on sign_in_failures (key, at);
