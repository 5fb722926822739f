-- The platform's usage per UTC hour × model group × call kind × outcome × billing status: the read path of the
-- dashboard's unfiltered and model/kind/outcome/billing-filtered views over long ranges (docs/adr/0012). Kept
-- exact by statement triggers on usage_events (supabase/schemas/60.roll_up_usage.sql): every insert adds its rows,
-- every update (an upgraded outcome) takes the old rows out and puts the new ones in, in the same transaction.
create table public.usage_hourly (
  hour timestamp not null,
  model_group text not null,
  kind text not null,
  status text not null,
  billing_status text not null,
  calls bigint not null default 0,
  errors bigint not null default 0,
  tokens_in bigint not null default 0,
  tokens_out bigint not null default 0,
  revenue_micros bigint not null default 0,
  cost_micros bigint not null default 0,
  constraint usage_hourly_pkey primary key (hour, model_group, kind, status, billing_status)
);

insert into public.usage_hourly (hour, model_group, kind, status, billing_status, calls, errors, tokens_in, tokens_out,
                                 revenue_micros, cost_micros)
select date_trunc('hour', started_at at time zone 'utc'), model_group, kind, status, billing_status, count(*),
       count(error_class), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
       coalesce(sum(revenue_micros), 0), coalesce(sum(cost_micros), 0)
from public.usage_events
group by 1, 2, 3, 4, 5;

alter table public.usage_hourly enable row level security;
