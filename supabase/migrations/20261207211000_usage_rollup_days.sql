-- The settled roll-ups' totals per UTC day and billing status (docs/adr/0045, amendment): usage_rollups summed, kept
-- equal to it by its statement triggers (supabase/schemas/60.roll_up_rollup_days.sql, made with them in a later
-- migration, which fills this table). whole_settled_days compares a day's few rows here with usage_hourly's, where it
-- summed every roll-up row of the span (about 275,000 a day at a million calls a day).
create table public.usage_rollup_days (
  day date not null,
  billing_status text not null,
  requests bigint not null,
  revenue_micros bigint not null,
  constraint usage_rollup_days_pkey primary key (day, billing_status)
);
alter table public.usage_rollup_days enable row level security;
