-- Foundation: users, sessions, login throttling, the append-only audit log and the updated_at convention.

-- Every table with an updated_at column gets this trigger; application code never sets it.
create or replace function public.set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- Append-only tables call this from BEFORE UPDATE/DELETE/TRUNCATE triggers.
create or replace function public.reject_change() returns trigger
language plpgsql as $$
begin
  raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

create table public.users (
  id uuid not null default gen_random_uuid(),
  email text not null,
  name text not null default '',
  role text not null default 'developer',
  status text not null default 'active',
  password_hash text,
  auth_user_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint users_pkey primary key (id),
  constraint users_role_check check (role in ('admin', 'developer')),
  constraint users_status_check check (status in ('active', 'suspended')),
  constraint users_email_check check (email = lower(email) and position('@' in email) > 1),
  constraint users_auth_user_id_key unique (auth_user_id)
);
create unique index users_email_key on public.users (email);
create index users_created_at_idx on public.users (created_at desc, id desc);
create trigger users_set_updated_at before update on public.users
  for each row execute function public.set_updated_at();

create table public.sessions (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  token_hash bytea not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  last_seen_at timestamptz not null default now(),
  revoked_at timestamptz,
  ip inet,
  user_agent text not null default '',
  constraint sessions_pkey primary key (id),
  constraint sessions_user_id_fkey foreign key (user_id) references public.users (id) on delete cascade,
  constraint sessions_token_hash_key unique (token_hash)
);
create index sessions_user_id_active_idx on public.sessions (user_id) where revoked_at is null;

-- Fixed-window counters for login throttling, shared by every instance of the control plane.
create table public.login_attempts (
  bucket text not null,
  window_start timestamptz not null,
  attempts integer not null default 0,
  constraint login_attempts_pkey primary key (bucket, window_start)
);

create table public.audit_log (
  id bigint generated always as identity,
  at timestamptz not null default now(),
  actor_id uuid,
  actor_kind text not null default 'user',
  action text not null,
  target_type text not null,
  target_id text,
  before jsonb,
  after jsonb,
  request_id text,
  ip inet,
  constraint audit_log_pkey primary key (id),
  constraint audit_log_actor_kind_check check (actor_kind in ('user', 'system', 'gateway', 'cron'))
);
create index audit_log_at_idx on public.audit_log (at desc, id desc);
create index audit_log_target_idx on public.audit_log (target_type, target_id, at desc);
create index audit_log_actor_idx on public.audit_log (actor_id, at desc);
create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function public.reject_change();
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function public.reject_change();

-- Supabase exposes the public schema through its REST API: with RLS on and no policies, its anon and
-- authenticated roles see nothing. The control plane connects as the owner, which RLS does not restrict.
alter table public.users enable row level security;
alter table public.sessions enable row level security;
alter table public.login_attempts enable row level security;
alter table public.audit_log enable row level security;
