-- A call's usage row, by its key and call id, read from the one partition of usage_events it is in. The one place that
-- knows how a call reaches its row: settle_usage's upgrades (upgrade_usage), place_hold's check, the call.charged emit
-- (lib/webhooks/emit.ts), the playground's charge and settlement's replay check read a call's row through it.
-- - A call with a claim in usage_calls (an id that is not a UUIDv7, docs/adr/0031; a v7 call settled before
--   docs/adr/0032 took effect, usage_claims_horizon.rows_from; a trimmed call's claim, left by retention): the claim
--   names its started_at.
-- - A UUIDv7 call without one: its row is in the partition of the UTC day its id names (call_day), found by that
--   partition's unique index on (call_key(call_id), key_id).
-- An inlined set-returning SQL function (stable, one SELECT): a caller's `join lateral usage_call(k, c) u on true`
-- plans as the joins written out, each partition pruned at run time.
create or replace function public.usage_call(p_key_id uuid, p_call_id text) returns setof public.usage_events
language sql stable
as $$
  select u.*
  from usage_calls c
  join usage_events u on u.key_id = c.key_id and u.started_at = c.started_at and u.call_id = p_call_id
  where c.key_id = p_key_id and c.call_key = call_key(p_call_id)
  union all
  select u.*
  from usage_events u
  where u.started_at >= call_day(p_call_id)
    and u.started_at < ((call_day(p_call_id) at time zone 'utc') + interval '1 day') at time zone 'utc'
    and call_key(u.call_id) = call_key(p_call_id) and u.key_id = p_key_id and u.call_id = p_call_id
    and not exists (select 1 from usage_calls c where c.key_id = p_key_id and c.call_key = call_key(p_call_id))
$$;
