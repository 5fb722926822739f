-- Gives back up to p_amount of what a lease reserves (never more than it still reserves) and moves it to
-- p_status: 'closing' (returned by its gateway process; what its in-flight calls drew stays reserved until their
-- usage events arrive, and it becomes 'closed' at zero) or 'expired' (its validity ran out: everything left goes
-- back). A returned lease still reserving its in-flight calls' share keeps it at most p_keep_seconds more (then it
-- expires, as a lease whose process vanished does). The account's held amount and the budget counters of the lease's UTC day and month go down by the same
-- amount, and so do the key's and its organization member's (move_key_windows; a window that has rolled over since
-- is left alone, as for calls: clause 26). Rows are locked key, member, account, then lease, the order of every money
-- function. A lease already closed or expired changes nothing, and so does
-- a second return. Returns what went back to the balance.
create or replace function public.release_lease(
  p_lease_id uuid, p_amount bigint, p_status text, p_reason text, p_keep_seconds integer
)
returns bigint
language plpgsql as $$
declare
  v_lease record;
  v_amount bigint;
  v_status text;
begin
  if p_status not in ('closing', 'expired') then
    raise exception 'a lease is released as closing or expired, not %', p_status using errcode = 'TG422';
  end if;
  select l.key_id, l.account_id, l.user_id into v_lease from leases l where l.id = p_lease_id;
  if not found then
    return 0;
  end if;
  perform 1 from api_keys k where k.id = v_lease.key_id for no key update;
  perform 1 from organization_members m join accounts a on a.organization_id = m.organization_id
  where a.id = v_lease.account_id and m.user_id = v_lease.user_id for no key update of m;
  perform 1 from accounts a where a.id = v_lease.account_id for no key update;
  select l.* into v_lease from leases l where l.id = p_lease_id for update;
  -- Returned once: a repeated return must not give back the share of the calls still in flight.
  if v_lease.status not in ('open', 'closing') or (p_status = 'closing' and v_lease.status <> 'open') then
    return 0;
  end if;
  v_amount := least(greatest(coalesce(p_amount, 0), 0), v_lease.reserved_micros);
  v_status := case when p_status = 'closing' and v_lease.reserved_micros = v_amount then 'closed' else p_status end;
  update leases l set
    reserved_micros = l.reserved_micros - v_amount,
    released_micros = l.released_micros + v_amount,
    status = v_status,
    closed_at = case when v_status in ('closed', 'expired') then tollgate_now() end,
    close_reason = p_reason,
    expires_at = case when v_status = 'closing'
                      then greatest(l.expires_at, tollgate_now() + make_interval(secs => coalesce(p_keep_seconds, 0)))
                      else l.expires_at end
  where l.id = p_lease_id;
  perform move_key_windows(array[v_lease.key_id], array[-v_amount], array[v_lease.created_at]);
  update accounts a set
    held_micros = a.held_micros - v_amount,
    day_used_micros = counter_moved(a.day_used_micros, window_used(-v_amount, a.budget_day, v_lease.created_at, 'day')),
    month_used_micros = counter_moved(a.month_used_micros, window_used(-v_amount, a.budget_month, v_lease.created_at, 'month'))
  where a.id = v_lease.account_id;
  return v_amount;
end;
$$;
