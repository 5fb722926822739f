-- A usage counter moved by what a batch or a release gives back or adds (billing contract, clause 26): never below
-- zero. p_delta is the part of the deltas that belongs to the counter's window: window_used(delta, the counter's
-- window, when the delta's money was reserved, grain), summed (numeric: sum() of bigint), a window that has rolled
-- over since left alone.
create or replace function public.counter_moved(p_used bigint, p_delta numeric) returns bigint
language sql immutable parallel safe as $$
  select greatest(0, p_used + coalesce(p_delta, 0))::bigint
$$;
