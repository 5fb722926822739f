-- The moment a call id names (docs/adr/0032): for a UUIDv7 in canonical lowercase text, the id the gate makes for every
-- billed call (docs/adr/0028), the Unix millisecond in its first 48 bits; null for any other id (LiteLLM's v4 ids
-- before, a test's "call-1", an uppercase spelling): the moment its key names (call_key_time). A v7 call's row lives in
-- the partition of this moment's UTC day and its idempotency key is that partition's unique index, so every report of
-- the call must land there: settle_usage records a v7 call at its reported start unless that falls on another UTC day,
-- then at this moment. Immutable. Not STRICT, so a query inlines it.
create or replace function public.call_time(p_call_id text) returns timestamptz
language sql immutable parallel safe
as $$
  select call_key_time(call_key(p_call_id))
$$;
