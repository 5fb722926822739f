-- The settled roll-ups of the whole platform per UTC day, model group and billing status (docs/adr/0045, amendment):
-- usage_rollups summed over its accounts and keys, kept equal to it by its statement triggers
-- (supabase/schemas/60.roll_up_rollup_days.sql, made with them in a later migration, which fills this table).
-- whole_settled_days compares a day's few rows here with usage_hourly's, and the admins' margins read a settled day
-- from them, where both summed every roll-up row of the day (about 275,000 a day at a million calls a day).
create table public.usage_rollup_days (
  day date not null,
  model_group text not null,
  billing_status text not null,
  requests bigint not null,
  tokens_in bigint not null,
  tokens_out bigint not null,
  cost_micros bigint not null,
  revenue_micros bigint not null,
  constraint usage_rollup_days_pkey primary key (day, model_group, billing_status)
);
alter table public.usage_rollup_days enable row level security;
