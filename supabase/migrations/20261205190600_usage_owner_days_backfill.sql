-- Fills the per-day owner roll-ups (20261205190400) from what is already recorded, now that roll_up_usage keeps them
-- (20261205190500): usage_events is locked against writes meanwhile, so no batch is counted twice or missed. A day
-- with detail is summed from its events and the calls an organization's retention trimmed from them
-- (retention_trimmed_usage); a day whose detail is gone from the daily settlement's usage_rollups (its waived calls
-- counted as failed, as the by-user and by-key views read them until now).
lock table public.usage_events in share mode;
delete from public.usage_owner_days;
delete from public.usage_owner_activity;

create temp table owner_day_rows on commit drop as
with detail as (
  select (e.started_at at time zone 'utc')::date as day, e.key_id, e.user_id, 1::bigint as calls,
         (e.status = 'failure')::int::bigint as failures, e.prompt_tokens::bigint as tokens_in,
         e.completion_tokens::bigint as tokens_out, e.revenue_micros as revenue, e.cost_micros as cost
  from public.usage_events e
  union all
  select t.day, t.key_id, k.user_id, t.calls, case when t.status = 'failure' then t.calls else 0 end, t.tokens_in,
         t.tokens_out, t.revenue_micros, t.cost_micros
  from public.retention_trimmed_usage t join public.api_keys k on k.id = t.key_id
  union all
  select r.day, r.key_id, k.user_id, r.requests, case when r.billing_status = 'waived' then r.requests else 0 end,
         r.tokens_in, r.tokens_out, r.revenue_micros, r.cost_micros
  from public.usage_rollups r join public.api_keys k on k.id = r.key_id
  where not exists (select 1 from public.usage_events e
                    where e.started_at >= r.day::timestamp at time zone 'utc'
                      and e.started_at < (r.day + 1)::timestamp at time zone 'utc')
    and not exists (select 1 from public.retention_trimmed_usage t where t.day = r.day)
)
select 'key'::text as owner_kind, key_id as owner_id, day, sum(calls) as calls, sum(failures) as failures,
       sum(tokens_in) as tokens_in, sum(tokens_out) as tokens_out, sum(revenue) as revenue, sum(cost) as cost
from detail group by key_id, day
union all
select 'user', user_id, day, sum(calls), sum(failures), sum(tokens_in), sum(tokens_out), sum(revenue), sum(cost)
from detail group by user_id, day;

insert into public.usage_owner_days (owner_kind, owner_id, day, calls, failures, tokens_in, tokens_out, revenue_micros,
                                     cost_micros)
select owner_kind, owner_id, day, calls, failures, tokens_in, tokens_out, revenue, cost from owner_day_rows;

insert into public.usage_owner_activity (owner_kind, period, owner_id, days)
select owner_kind, (day - date '1970-01-01') >> 5, owner_id, bit_or(1::bigint << ((day - date '1970-01-01') & 31))
from owner_day_rows group by 1, 2, 3;
