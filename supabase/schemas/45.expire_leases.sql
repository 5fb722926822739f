-- Releases what leases past their validity still reserve (clause 34: a gateway process that vanished gives its
-- slice back): at most p_limit of them, oldest first, each through release_lease. Called by the lease cron job
-- and before settlement. Calls such a lease served are still charged when their events arrive (or repaired by
-- settlement); a charge the release left without a reservation is overage, as a charge above its hold is.
-- Returns how many leases expired and what went back.
create or replace function public.expire_leases(p_limit integer)
returns table (expired_count integer, released_micros bigint)
language plpgsql as $$
declare
  v_lease record;
  v_count integer := 0;
  v_released bigint := 0;
  v_ids uuid[];
begin
  select array_agg(id) into v_ids from (
    select l.id from leases l
    where l.status in ('open', 'closing') and l.expires_at <= tollgate_now()
    order by l.expires_at
    limit p_limit
  ) x;
  if v_ids is null then
    return query select 0, 0::bigint;
    return;
  end if;
  -- Every key, then every member, then every account, in id order, before any lease: the order settle_usage takes (no deadlock).
  perform 1 from api_keys k where k.id in (select l.key_id from leases l where l.id = any(v_ids))
  order by k.id for no key update;
  perform 1 from organization_members m
  where (m.organization_id, m.user_id) in (select a.organization_id, l.user_id from leases l
                                           join accounts a on a.id = l.account_id where l.id = any(v_ids))
  order by m.organization_id, m.user_id for no key update;
  perform 1 from accounts a where a.id in (select l.account_id from leases l where l.id = any(v_ids))
  order by a.id for no key update;
  for v_lease in select unnest(v_ids) as id
  loop
    v_released := v_released + release_lease(v_lease.id, 9007199254740991, 'expired', 'validity ended', 0);
    v_count := v_count + 1;
  end loop;
  return query select v_count, v_released;
end;
$$;
