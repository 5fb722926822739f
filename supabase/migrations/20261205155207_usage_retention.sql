-- Usage retention (issue 27, part 3; docs/adr/0022-usage-retention.md): how long usage detail, hourly roll-ups and
-- playground conversations are kept, platform-wide and per organization, and the record of what the daily
-- retention job dropped, trimmed or refused and why. The ledger, balances and daily roll-ups are kept forever.

-- The platform's policy (one row): admins set it, audited (retention.settings).
create table public.retention_settings (
  id boolean not null default true,
  usage_detail_days integer not null default 90,
  hourly_rollup_days integer not null default 730,
  playground_days integer not null default 30,
  updated_at timestamptz not null default now(),
  updated_by uuid,
  constraint retention_settings_pkey primary key (id),
  constraint retention_settings_one_row check (id),
  constraint retention_settings_detail_check check (usage_detail_days between 7 and 3650),
  constraint retention_settings_hourly_check check (hourly_rollup_days between 30 and 36500
                                                    and hourly_rollup_days >= usage_detail_days),
  constraint retention_settings_playground_check check (playground_days between 1 and 3650),
  constraint retention_settings_updated_by_fkey foreign key (updated_by) references public.users (id)
    on delete set null
);
insert into public.retention_settings default values;
create trigger retention_settings_updated_at before update on public.retention_settings
  for each row execute function public.set_updated_at();

-- An organization's own, shorter policy (its owners and admins set it, audited): null keeps the platform's. It can only
-- shorten: the job never keeps detail past the platform's partitions (lib/retention/policy.ts bounds it on write).
create table public.organization_retention (
  organization_id uuid not null,
  usage_detail_days integer,
  playground_days integer,
  updated_at timestamptz not null default now(),
  updated_by uuid,
  constraint organization_retention_pkey primary key (organization_id),
  constraint organization_retention_organization_id_fkey foreign key (organization_id)
    references public.organizations (id) on delete cascade,
  constraint organization_retention_detail_check check (usage_detail_days between 1 and 3650),
  constraint organization_retention_playground_check check (playground_days between 1 and 3650),
  constraint organization_retention_updated_by_fkey foreign key (updated_by) references public.users (id)
    on delete set null
);
create trigger organization_retention_updated_at before update on public.organization_retention
  for each row execute function public.set_updated_at();

-- What retention removed from a day's detail before the day's partition was dropped (an organization's shorter policy):
-- the sums of the removed rows at the grain of both roll-ups, so "the day's detail plus what retention removed equals
-- the day's roll-ups" stays checkable (retention_day_check) until the partition itself leaves.
create table public.retention_trimmed_usage (
  day date not null,
  hour timestamp not null,
  account_id uuid not null,
  key_id uuid not null,
  model_group text not null,
  kind text not null,
  status text not null,
  billing_status text not null,
  calls bigint not null default 0,
  errors bigint not null default 0,
  tokens_in bigint not null default 0,
  tokens_out bigint not null default 0,
  cost_micros bigint not null default 0,
  revenue_micros bigint not null default 0,
  constraint retention_trimmed_usage_pkey
    primary key (day, hour, account_id, key_id, model_group, kind, status, billing_status)
);

-- One run of the retention job: what it did with each day and table.
create table public.retention_runs (
  id uuid not null default gen_random_uuid(),
  trigger text not null,
  status text not null default 'running',
  -- The moment the run stood at (tollgate_now()), from which every cutoff is counted.
  as_of timestamptz not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  partitions_dropped integer not null default 0,
  days_refused integer not null default 0,
  detail_rows_dropped bigint not null default 0,
  bytes_dropped bigint not null default 0,
  org_rows_trimmed bigint not null default 0,
  hourly_rows_deleted bigint not null default 0,
  conversations_deleted bigint not null default 0,
  duration_ms integer,
  error text,
  constraint retention_runs_pkey primary key (id),
  constraint retention_runs_status_check check (status in ('running', 'completed', 'failed')),
  constraint retention_runs_trigger_check check (trigger in ('cron', 'manual'))
);
create index retention_runs_started_idx on public.retention_runs (started_at desc);

-- Each decision of a run about one day (or one partition): dropped, refused (and why), or an organization's rows
-- trimmed.
create table public.retention_actions (
  id bigint generated always as identity,
  run_id uuid not null,
  day date not null,
  action text not null,
  partition_name text,
  account_id uuid,
  rows bigint not null default 0,
  bytes bigint not null default 0,
  reason text,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now(),
  constraint retention_actions_pkey primary key (id),
  constraint retention_actions_run_id_fkey foreign key (run_id) references public.retention_runs (id)
    on delete cascade,
  constraint retention_actions_action_check check (action in ('dropped', 'refused', 'trimmed')),
  constraint retention_actions_reason_check check (action <> 'refused' or reason is not null)
);
create index retention_actions_run_idx on public.retention_actions (run_id, day);
create index retention_actions_day_idx on public.retention_actions (day desc, created_at desc);

alter table public.retention_settings enable row level security;
alter table public.organization_retention enable row level security;
alter table public.retention_trimmed_usage enable row level security;
alter table public.retention_runs enable row level security;
alter table public.retention_actions enable row level security;
