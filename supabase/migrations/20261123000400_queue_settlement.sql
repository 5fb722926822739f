-- Our own Postgres job queue (claimed with FOR UPDATE SKIP LOCKED), and the daily settlement's records.
-- Why our own and not pg-boss or graphile-worker: docs/adr/0005-our-own-queue.md.

create table public.queue_jobs (
  id bigint generated always as identity,
  name text not null,
  payload jsonb not null default '{}',
  -- created → active → completed; a failed attempt → retry (after backoff) → active …; out of attempts → dead.
  state text not null default 'created',
  priority integer not null default 0,
  run_after timestamptz not null default now(),
  attempts integer not null default 0,
  max_attempts integer not null default 5,
  backoff_base_ms integer not null default 1000,
  -- At most one unfinished job per singleton key (dedup): enqueueing it again returns the existing job.
  singleton_key text,
  -- A claimed job belongs to its worker until the lease expires; a dead worker's job is then claimed again.
  lease_expires_at timestamptz,
  locked_by text,
  last_error text,
  result jsonb,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  constraint queue_jobs_pkey primary key (id),
  constraint queue_jobs_state_check check (state in ('created', 'active', 'completed', 'retry', 'dead')),
  constraint queue_jobs_attempts_check check (attempts >= 0 and max_attempts >= 1),
  constraint queue_jobs_active_lease_check check (state <> 'active' or lease_expires_at is not null)
);
-- The claim reads only runnable jobs: completed ones can pile up without slowing it.
create index queue_jobs_runnable_idx on public.queue_jobs (priority desc, run_after, id)
  where state in ('created', 'retry');
create index queue_jobs_lease_idx on public.queue_jobs (lease_expires_at) where state = 'active';
create unique index queue_jobs_singleton_key on public.queue_jobs (singleton_key)
  where singleton_key is not null and state in ('created', 'active', 'retry');
create index queue_jobs_completed_idx on public.queue_jobs (completed_at) where state = 'completed';
create index queue_jobs_name_state_idx on public.queue_jobs (name, state);

create table public.settlement_runs (
  id uuid not null default gen_random_uuid(),
  day date not null,
  status text not null default 'running',
  trigger text not null,
  requested_by uuid,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  jobs_total integer not null default 0,
  jobs_done integer not null default 0,
  events_examined integer not null default 0,
  holds_examined integer not null default 0,
  holds_replayed integer not null default 0,
  holds_released integer not null default 0,
  holds_estimated integer not null default 0,
  orphan_events integer not null default 0,
  overage_micros bigint not null default 0,
  variance_count integer not null default 0,
  variance_micros bigint not null default 0,
  invariant_violations integer not null default 0,
  error text,
  constraint settlement_runs_pkey primary key (id),
  constraint settlement_runs_status_check check (status in ('running', 'completed', 'failed')),
  constraint settlement_runs_trigger_check check (trigger in ('cron', 'manual')),
  constraint settlement_runs_requested_by_fkey foreign key (requested_by) references public.users (id) on delete set null
);
create index settlement_runs_day_idx on public.settlement_runs (day desc, started_at desc);

create table public.settlement_variances (
  id bigint generated always as identity,
  run_id uuid not null,
  kind text not null,
  account_id uuid,
  key_id uuid,
  call_id text,
  amount_micros bigint not null default 0,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now(),
  constraint settlement_variances_pkey primary key (id),
  constraint settlement_variances_run_id_fkey foreign key (run_id) references public.settlement_runs (id) on delete cascade,
  constraint settlement_variances_kind_check check (kind in (
    'replayed_event', 'released_waived', 'charged_estimate', 'orphan_event', 'overage', 'invariant'))
);
create index settlement_variances_run_idx on public.settlement_variances (run_id, kind);

-- Usage per UTC day × account × key × model × billing status: recomputed whole for a day (idempotent).
create table public.usage_rollups (
  day date not null,
  account_id uuid not null,
  key_id uuid not null,
  model_group text not null,
  billing_status text not null,
  requests integer not null,
  tokens_in bigint not null,
  tokens_out bigint not null,
  cost_micros bigint not null,
  revenue_micros bigint not null,
  computed_at timestamptz not null default now(),
  constraint usage_rollups_pkey primary key (day, account_id, key_id, model_group, billing_status)
);
create index usage_rollups_day_idx on public.usage_rollups (day);

alter table public.queue_jobs enable row level security;
alter table public.settlement_runs enable row level security;
alter table public.settlement_variances enable row level security;
alter table public.usage_rollups enable row level security;

-- Re-running a settlement job records each discrepancy once.
create unique index settlement_variances_once_key on public.settlement_variances
  (run_id, kind, coalesce(call_id, ''), coalesce(account_id::text, ''));
