-- Adds usage events (p_added) to usage_owner_days and takes others out (p_removed): per UTC day × key and per UTC day
-- × user (the call's user: its key's, which never changes, docs/adr/0037; a row does not store it), the calls, failed calls (status 'failure'), tokens and money, in one
-- upsert; a (day, owner) row made by it sets the owner's bits for that day in usage_owner_activity (who was active on
-- which days: distinct keys and users over a range are counted there, docs/adr/0024). Rows are upserted in key order,
-- so concurrent batches lock the rows they share in the same order. Called by the roll_up_usage triggers only.
create or replace function public.roll_up_owner_days(p_added public.usage_events[], p_removed public.usage_events[])
returns void
language sql
set search_path = public
as $$
  with delta as (
    select (e.started_at at time zone 'utc')::date as day, e.key_id, 1 as calls,
           (e.status = 'failure')::int as failures, e.prompt_tokens::bigint as tokens_in,
           e.completion_tokens::bigint as tokens_out, e.revenue_micros as revenue, e.cost_micros as cost
    from unnest(p_added) e
    union all
    select (e.started_at at time zone 'utc')::date, e.key_id, -1, -(e.status = 'failure')::int,
           -e.prompt_tokens::bigint, -e.completion_tokens::bigint, -e.revenue_micros, -e.cost_micros
    from unnest(p_removed) e
  ),
  -- Per day × key first: each key's user is then read once.
  keyed as (
    select day, key_id, sum(calls) as calls, sum(failures) as failures, sum(tokens_in) as tokens_in,
           sum(tokens_out) as tokens_out, sum(revenue) as revenue, sum(cost) as cost
    from delta
    group by day, key_id
  ),
  owners as (
    select 'key'::text as owner_kind, key_id as owner_id, day, calls, failures, tokens_in, tokens_out, revenue, cost
    from keyed
    union all
    select 'user', k.user_id, d.day, d.calls, d.failures, d.tokens_in, d.tokens_out, d.revenue, d.cost
    from keyed d join api_keys k on k.id = d.key_id
  ),
  upserted as (
    insert into usage_owner_days as o (owner_kind, owner_id, day, calls, failures, tokens_in, tokens_out,
                                       revenue_micros, cost_micros)
    select owner_kind, owner_id, day, sum(calls), sum(failures), sum(tokens_in), sum(tokens_out), sum(revenue),
           sum(cost)
    from owners
    group by owner_kind, owner_id, day
    order by owner_kind, owner_id, day
    on conflict (owner_kind, owner_id, day) do update set
      calls = o.calls + excluded.calls,
      failures = o.failures + excluded.failures,
      tokens_in = o.tokens_in + excluded.tokens_in,
      tokens_out = o.tokens_out + excluded.tokens_out,
      revenue_micros = o.revenue_micros + excluded.revenue_micros,
      cost_micros = o.cost_micros + excluded.cost_micros
    -- xmax is 0 on a row this statement inserted (not one it updated).
    returning o.owner_kind, o.owner_id, o.day, o.xmax = 0 as made
  )
  -- Day d (counted from 1970-01-01) is bit 32 + d % 32 of its own period's row (d / 32) and bit d % 32 of the next's.
  insert into usage_owner_activity as a (owner_kind, period, owner_id, days)
  select u.owner_kind, b.period, u.owner_id, bit_or(b.bit)
  from upserted u
  cross join lateral (values ((u.day - date '1970-01-01') >> 5, 1::bigint << (32 + ((u.day - date '1970-01-01') & 31))),
                             (((u.day - date '1970-01-01') >> 5) + 1, 1::bigint << ((u.day - date '1970-01-01') & 31)))
    as b(period, bit)
  where u.made
  group by 1, 2, 3
  order by 1, 2, 3
  on conflict (owner_kind, period, owner_id) do update set days = a.days | excluded.days;
$$;
