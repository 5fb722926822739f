-- Moves keys' day and month budget counters by the deltas of their calls (clause 26): each delta counts in the UTC
-- day and month its money was reserved in (p_at), and only while that window is still the key's (a window rolled
-- over since is left alone); a counter never goes below zero, and moves the keys' organization members' windows by
-- the same deltas (move_member_windows). settle_usage, upgrade_usage and release_lease move keys here, on rows they
-- have locked (keys, then members). How many keys moved.
create or replace function public.move_key_windows(p_key_ids uuid[], p_deltas bigint[], p_at timestamptz[])
returns integer
language plpgsql as $$
declare
  v_moved integer;
begin
  update api_keys k set
    day_used_micros = counter_moved(k.day_used_micros, m.day),
    month_used_micros = counter_moved(k.month_used_micros, m.month)
  from (select d.key_id,
               sum(window_used(d.delta, w.budget_day, d.reserved_at, 'day')) as day,
               sum(window_used(d.delta, w.budget_month, d.reserved_at, 'month')) as month
        from unnest(p_key_ids, p_deltas, p_at) as d(key_id, delta, reserved_at)
        join api_keys w on w.id = d.key_id
        group by d.key_id) m
  where k.id = m.key_id;
  get diagnostics v_moved = row_count;
  perform move_member_windows(p_key_ids, p_deltas, p_at);
  return v_moved;
end;
$$;
