-- Moves organization members' day and month cap counters by the deltas of their keys' calls, exactly as
-- move_key_windows moves the keys' (clause 26: each delta counts in the UTC day and month its money was reserved in,
-- only while that window is still the member's; never below zero). A key of a person's own account has no member and
-- moves nothing here. Called by move_key_windows, so every path that moves a key's windows moves its member's; the
-- caller has locked the members (after the keys, before the accounts). How many members moved.
create or replace function public.move_member_windows(p_key_ids uuid[], p_deltas bigint[], p_at timestamptz[])
returns integer
language plpgsql as $$
declare
  v_moved integer;
begin
  update organization_members om set
    day_used_micros = counter_moved(om.day_used_micros, m.day),
    month_used_micros = counter_moved(om.month_used_micros, m.month)
  from (select w.organization_id, w.user_id,
               sum(window_used(d.delta, w.budget_day, d.reserved_at, 'day')) as day,
               sum(window_used(d.delta, w.budget_month, d.reserved_at, 'month')) as month
        from unnest(p_key_ids, p_deltas, p_at) as d(key_id, delta, reserved_at)
        join api_keys k on k.id = d.key_id
        join accounts a on a.id = k.account_id
        join organization_members w on w.organization_id = a.organization_id and w.user_id = k.user_id
        group by w.organization_id, w.user_id) m
  where om.organization_id = m.organization_id and om.user_id = m.user_id;
  get diagnostics v_moved = row_count;
  return v_moved;
end;
$$;
