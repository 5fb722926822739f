-- Whether a UTC day's usage detail equals its roll-ups, exactly: the day's rows in usage_events (plus, while a
-- partition is being dropped, the rows of that detached table p_extra, plus what retention already trimmed from the
-- day for an organization's shorter policy) summed per account × key × model group × billing status against
-- usage_rollups (requests, tokens, cost, revenue), and per UTC hour × model group × kind × outcome × billing status
-- against usage_hourly (calls, errors, tokens, cost, revenue). One row per grain: the groups compared, how many
-- differ, and the detail rows still held. Retention drops a day only when both mismatch counts are 0 (lib/retention/run.ts).
create or replace function public.retention_day_check(p_day date, p_extra regclass default null)
returns table (grain text, groups bigint, mismatched bigint, detail_rows bigint)
language plpgsql
stable
set search_path = public
as $$
declare
  v_from timestamptz := p_day::timestamp at time zone 'utc';
  v_to timestamptz := (p_day + 1)::timestamp at time zone 'utc';
  v_extra text := case when p_extra is null then ''
    else format($f$ union all select account_id, key_id, model_group, kind, status, billing_status(status),
                  date_trunc('hour', started_at at time zone 'utc'), 1, (error_class is not null)::int,
                  prompt_tokens, completion_tokens, cost_micros, revenue_micros
                from %s where started_at >= $1 and started_at < $2 $f$, p_extra) end;
begin
  return query execute format($q$
    with live (account_id, key_id, model_group, kind, status, billing_status, hour, calls, errors, tokens_in,
               tokens_out, cost, revenue) as (
      select account_id, key_id, model_group, kind, status, billing_status(status),
             date_trunc('hour', started_at at time zone 'utc'), 1, (error_class is not null)::int, prompt_tokens,
             completion_tokens, cost_micros, revenue_micros
      from usage_events where started_at >= $1 and started_at < $2
      %s
    ),
    detail as (
      select * from live
      union all
      select account_id, key_id, model_group, kind, status, billing_status, hour, calls, errors, tokens_in,
             tokens_out, cost_micros, revenue_micros
      from retention_trimmed_usage where day = $3
    ),
    by_account as (
      select account_id, key_id, model_group, billing_status, sum(calls) as calls, sum(tokens_in) as tokens_in,
             sum(tokens_out) as tokens_out, sum(cost) as cost, sum(revenue) as revenue
      from detail group by 1, 2, 3, 4
    ),
    rolled as (
      select account_id, key_id, model_group, billing_status, requests::numeric as calls,
             tokens_in::numeric, tokens_out::numeric, cost_micros::numeric as cost, revenue_micros::numeric as revenue
      from usage_rollups where day = $3
    ),
    by_hour as (
      select hour, model_group, kind, status, billing_status, sum(calls) as calls, sum(errors) as errors,
             sum(tokens_in) as tokens_in, sum(tokens_out) as tokens_out, sum(cost) as cost, sum(revenue) as revenue
      from detail group by 1, 2, 3, 4, 5
    ),
    hourly as (
      select hour, model_group, kind, status, billing_status, calls::numeric, errors::numeric, tokens_in::numeric,
             tokens_out::numeric, cost_micros::numeric as cost, revenue_micros::numeric as revenue
      from usage_hourly
      where hour >= $3::timestamp and hour < ($3 + 1)::timestamp
        -- An upgrade moves a call between billing statuses and can leave a group at zero: nothing to compare.
        and (calls, errors, tokens_in, tokens_out, cost_micros, revenue_micros) <> (0, 0, 0, 0, 0, 0)
    )
    select 'account_model_day'::text, count(*),
           count(*) filter (where (a.calls, a.tokens_in, a.tokens_out, a.cost, a.revenue)
                                  is distinct from (r.calls, r.tokens_in, r.tokens_out, r.cost, r.revenue)),
           (select count(*) from live)
    from by_account a full join rolled r using (account_id, key_id, model_group, billing_status)
    union all
    select 'model_hour'::text, count(*),
           count(*) filter (where (a.calls, a.errors, a.tokens_in, a.tokens_out, a.cost, a.revenue)
                                  is distinct from (h.calls, h.errors, h.tokens_in, h.tokens_out, h.cost, h.revenue)),
           (select count(*) from live)
    from by_hour a full join hourly h using (hour, model_group, kind, status, billing_status)
  $q$, v_extra) using v_from, v_to, p_day;
end;
$$;
