-- The moment a call id names (docs/adr/0032): for a UUIDv7 in canonical lowercase text, the id the gate makes for every
-- billed call (docs/adr/0028), the Unix millisecond in its first 48 bits; null for any other id (LiteLLM's v4 ids
-- before, a test's "call-1", an uppercase spelling). A v7 call's row lives in the partition of this moment's UTC day
-- and its idempotency key is that partition's unique index, so every report of the call must land there: settle_usage
-- records a v7 call at its reported start unless that falls on another UTC day, then at this moment.
-- The canonical form is call_key's (05.call_key.sql), with the version digit 7. Immutable: an index and a partition's
-- bounds may be computed from it. Not STRICT, so a query inlines it.
create or replace function public.call_time(p_call_id text) returns timestamptz
language sql immutable parallel safe
as $$
  select case when length(p_call_id) = 36 and p_call_id !~ '[^-0-9a-f]' and length(replace(p_call_id, '-', '')) = 32
                   and substr(p_call_id, 9, 1) = '-' and substr(p_call_id, 14, 1) = '-'
                   and substr(p_call_id, 19, 1) = '-' and substr(p_call_id, 24, 1) = '-'
                   and substr(p_call_id, 15, 1) = '7'
              then (timestamp 'epoch' + ('x' || lpad(substr(p_call_id, 1, 8) || substr(p_call_id, 10, 4), 16, '0'))::bit(64)::bigint
                                        * interval '1 millisecond') at time zone 'utc' end
$$;

