-- Per-day owner roll-ups for the dashboard's 30-day views (docs/adr/0024): usage per UTC day × key and per UTC day ×
-- user, and which keys and users were active on which days, kept equal to usage_events by its statement triggers
-- (roll_up_owner_days, called by roll_up_usage) as usage_hourly is. Tops over a range read each day's few biggest
-- rows by usage_owner_days_top_idx and the candidates' exact sums by the primary key; distinct keys and users over a
-- range count the owners whose day bits meet the range.
create table public.usage_owner_days (
  owner_kind text not null,
  owner_id uuid not null,
  day date not null,
  calls bigint not null default 0,
  failures bigint not null default 0,
  tokens_in bigint not null default 0,
  tokens_out bigint not null default 0,
  revenue_micros bigint not null default 0,
  cost_micros bigint not null default 0,
  constraint usage_owner_days_pkey primary key (owner_kind, owner_id, day),
  constraint usage_owner_days_kind_check check (owner_kind in ('key', 'user'))
);
create index usage_owner_days_top_idx
  on public.usage_owner_days (owner_kind, day, revenue_micros desc, calls desc) include (owner_id);
alter table public.usage_owner_days enable row level security;

-- Bit i of days: the owner had a call on UTC day (period * 32 + i) counted from 1970-01-01.
create table public.usage_owner_activity (
  owner_kind text not null,
  period integer not null,
  owner_id uuid not null,
  days bigint not null,
  constraint usage_owner_activity_pkey primary key (owner_kind, period, owner_id),
  constraint usage_owner_activity_kind_check check (owner_kind in ('key', 'user'))
);
alter table public.usage_owner_activity enable row level security;
