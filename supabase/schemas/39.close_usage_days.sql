-- Closes UTC days of usage detail (usage_closed_days, docs/adr/0032) before retention drops their partitions: from
-- its commit settle_usage records no UUIDv7 call of those days, whose claims (their rows) are about to go; a replay of
-- one is counted as expired, never recorded again into the default partition and charged twice. Alone in its own
-- short transaction, as advance_usage_claims_horizon: the exclusive advisory lock waits for the webhook batches in
-- flight (settle_usage holds it shared to their commit), so none records a call of a closed day after the close, and
-- batches arriving meanwhile wait for this commit. Returns the days it closed (not those closed before: a day dropped
-- by an earlier run whose partition came back for a late call that is not a UUIDv7 stays closed whatever happens).
create or replace function public.close_usage_days(p_days date[])
returns setof date
language plpgsql
set search_path = public
as $$
begin
  perform set_config('lock_timeout', '5s', true);
  perform pg_advisory_xact_lock(hashtextextended('tollgate.usage_calls.horizon', 0));
  return query
    insert into usage_closed_days as c (day) select distinct d from unnest(p_days) d where d is not null
    on conflict (day) do nothing
    returning c.day;
end;
$$;
