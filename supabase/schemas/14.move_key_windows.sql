-- Moves keys' day and month budget counters by the deltas of their calls (clause 26): each delta counts in the UTC
-- day and month its money was reserved in (p_at), and only while that window is still the key's (a window rolled
-- over since is left alone); a counter never goes below zero. settle_usage and upgrade_usage move keys here, on rows
-- they have locked. How many keys moved.
create or replace function public.move_key_windows(p_key_ids uuid[], p_deltas bigint[], p_at timestamptz[])
returns integer
language sql as $$
  with moves as (select * from unnest(p_key_ids, p_deltas, p_at) as m(key_id, delta, reserved_at)),
  moved as (
    update api_keys k set
      day_used_micros = counter_moved(k.day_used_micros, (
        select sum(window_used(m.delta, k.budget_day, m.reserved_at, 'day')) from moves m where m.key_id = k.id)),
      month_used_micros = counter_moved(k.month_used_micros, (
        select sum(window_used(m.delta, k.budget_month, m.reserved_at, 'month')) from moves m where m.key_id = k.id))
    where k.id in (select key_id from moves)
    returning 1
  )
  select count(*)::int from moved
$$;
