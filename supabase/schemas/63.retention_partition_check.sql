-- A partition's days checked against their roll-ups and, when p_keep and every day agrees, its rows' sums kept, in
-- one scan of the partition (lib/retention/run.ts, before the DROP). The partition's rows are summed once per UTC day ×
-- hour × account × key × model group × kind × outcome × billing status; with what retention already trimmed from the
-- same days (retention_trimmed_usage) they are compared per account × key × model group × billing status against
-- usage_rollups and per hour × model group × kind × outcome × billing status against usage_hourly, for every day of
-- p_days and every day the rows fall on (a partition not bounded on UTC days, or a day with rows elsewhere, disagrees:
-- refused, never dropped in part). Same rules as retention_day_check, which checks a day across all of usage_events.
-- When every day agrees and p_keep, those same sums are added to retention_trimmed_usage in the same statement: what is
-- kept is exactly what was compared, and the caller holds the partition against writes (SHARE, or detached) to its
-- DROP, so it is exactly what leaves. One row per day and grain: the groups compared, how many differ, the rows held.
create or replace function public.retention_partition_check(p_partition regclass, p_days date[],
                                                            p_keep boolean default false)
returns table (day date, grain text, groups bigint, mismatched bigint, detail_rows bigint)
language plpgsql
set search_path = public
as $$
begin
  return query execute format($q$
    with kept as materialized (
      select (started_at at time zone 'utc')::date as day, date_trunc('hour', started_at at time zone 'utc') as hour,
             account_id, key_id, model_group, kind, status, billing_status(status) as billing_status, count(*) as calls,
             count(error_class) as errors, sum(prompt_tokens)::bigint as tokens_in,
             sum(completion_tokens)::bigint as tokens_out, sum(cost_micros)::bigint as cost,
             sum(revenue_micros)::bigint as revenue
      from %s group by 1, 2, 3, 4, 5, 6, 7, 8
    ),
    days as (select unnest($1::date[]) as day union select k.day from kept k),
    detail as (
      select k.day, k.hour, k.account_id, k.key_id, k.model_group, k.kind, k.status, k.billing_status, k.calls,
             k.errors, k.tokens_in, k.tokens_out, k.cost, k.revenue
      from kept k
      union all
      select t.day, t.hour, t.account_id, t.key_id, t.model_group, t.kind, t.status, t.billing_status, t.calls,
             t.errors, t.tokens_in, t.tokens_out, t.cost_micros, t.revenue_micros
      from retention_trimmed_usage t where t.day in (select d.day from days d)
    ),
    by_account as (
      select d.day, d.account_id, d.key_id, d.model_group, d.billing_status, sum(d.calls) as calls,
             sum(d.tokens_in) as tokens_in, sum(d.tokens_out) as tokens_out, sum(d.cost) as cost,
             sum(d.revenue) as revenue
      from detail d group by 1, 2, 3, 4, 5
    ),
    rolled as (
      select r.day, r.account_id, r.key_id, r.model_group, r.billing_status, r.requests::numeric as calls,
             r.tokens_in::numeric, r.tokens_out::numeric, r.cost_micros::numeric as cost,
             r.revenue_micros::numeric as revenue
      from usage_rollups r where r.day in (select d.day from days d)
    ),
    by_hour as (
      select d.day, d.hour, d.model_group, d.kind, d.status, d.billing_status, sum(d.calls) as calls,
             sum(d.errors) as errors, sum(d.tokens_in) as tokens_in, sum(d.tokens_out) as tokens_out,
             sum(d.cost) as cost, sum(d.revenue) as revenue
      from detail d group by 1, 2, 3, 4, 5, 6
    ),
    hourly as (
      select h.hour::date as day, h.hour, h.model_group, h.kind, h.status, h.billing_status, h.calls::numeric,
             h.errors::numeric, h.tokens_in::numeric, h.tokens_out::numeric, h.cost_micros::numeric as cost,
             h.revenue_micros::numeric as revenue
      from usage_hourly h
      where h.hour >= (select min(d.day) from days d)::timestamp and h.hour < (select max(d.day) + 1 from days d)::timestamp
        and h.hour::date in (select d.day from days d)
        -- An upgrade moves a call between billing statuses and can leave a group at zero: nothing to compare.
        and (h.calls, h.errors, h.tokens_in, h.tokens_out, h.cost_micros, h.revenue_micros) <> (0, 0, 0, 0, 0, 0)
    ),
    by_day_account as (
      select day, count(*) as groups,
             count(*) filter (where (a.calls, a.tokens_in, a.tokens_out, a.cost, a.revenue)
                                    is distinct from (r.calls, r.tokens_in, r.tokens_out, r.cost, r.revenue)) as bad
      from by_account a full join rolled r using (day, account_id, key_id, model_group, billing_status)
      group by day
    ),
    by_day_hour as (
      select day, count(*) as groups,
             count(*) filter (where (a.calls, a.errors, a.tokens_in, a.tokens_out, a.cost, a.revenue)
                                    is distinct from (h.calls, h.errors, h.tokens_in, h.tokens_out, h.cost, h.revenue))
               as bad
      from by_hour a full join hourly h using (day, hour, model_group, kind, status, billing_status)
      group by day
    ),
    held as (select k.day, sum(k.calls)::bigint as n from kept k group by k.day),
    checks as (
      select d.day, 'account_model_day'::text as grain, coalesce(a.groups, 0) as groups,
             coalesce(a.bad, 0) as mismatched, coalesce(n.n, 0) as detail_rows
      from days d left join by_day_account a using (day) left join held n using (day)
      union all
      select d.day, 'model_hour'::text, coalesce(h.groups, 0), coalesce(h.bad, 0), coalesce(n.n, 0)
      from days d left join by_day_hour h using (day) left join held n using (day)
    ),
    -- Runs to completion whatever the final select reads (a data-modifying WITH always does).
    saved as (
      insert into retention_trimmed_usage as t (day, hour, account_id, key_id, model_group, kind, status,
                                                billing_status, calls, errors, tokens_in, tokens_out, cost_micros,
                                                revenue_micros)
      select k.day, k.hour, k.account_id, k.key_id, k.model_group, k.kind, k.status, k.billing_status, k.calls,
             k.errors, k.tokens_in, k.tokens_out, k.cost, k.revenue
      from kept k
      where $2 and not exists (select 1 from checks c where c.mismatched > 0)
      on conflict (day, hour, account_id, key_id, model_group, kind, status, billing_status) do update set
        calls = t.calls + excluded.calls, errors = t.errors + excluded.errors,
        tokens_in = t.tokens_in + excluded.tokens_in, tokens_out = t.tokens_out + excluded.tokens_out,
        cost_micros = t.cost_micros + excluded.cost_micros, revenue_micros = t.revenue_micros + excluded.revenue_micros
      returning 1
    )
    select c.day, c.grain, c.groups, c.mismatched, c.detail_rows from checks c order by 1, 2
  $q$, p_partition) using p_days, p_keep;
end;
$$;
