-- A call's usage row, by its key and call id: its claim in usage_calls (docs/adr/0020, 0031) names its started_at, so
-- the look-up reads one partition of usage_events. The one place that knows how a call reaches its row: settle_usage's
-- upgrades (upgrade_usage), the call.charged emit (lib/webhooks/emit.ts), the playground's charge and settlement's
-- replay check read a call's row through it. An inlined set-returning SQL function (stable, one SELECT): a caller's
-- `join lateral usage_call(k, c) u on true` plans as the join written out, with run-time partition pruning.
create or replace function public.usage_call(p_key_id uuid, p_call_id text) returns setof public.usage_events
language sql stable
as $$
  select u.*
  from usage_calls c
  join usage_events u on u.key_id = c.key_id and u.started_at = c.started_at and u.call_id = p_call_id
  where c.key_id = p_key_id and c.call_key = call_key(p_call_id)
$$;
