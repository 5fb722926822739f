-- The start of the UTC day a call id names (call_time): its usage_events partition is [call_day, call_day + 1 day).
-- Null for an id that names no moment.
create or replace function public.call_day(p_call_id text) returns timestamptz
language sql immutable parallel safe
as $$
  select date_trunc('day', call_time(p_call_id) at time zone 'utc') at time zone 'utc'
$$;
