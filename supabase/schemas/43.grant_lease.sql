-- Grants a gateway process a slice of a key's available money (billing contract, clauses 31–35), or tops up and
-- extends a lease it already holds (same p_lease_id). The slice is
--   least(wanted, a fair share, what is available, what the key's, its organization member's and the account's
--         daily/monthly budgets and caps leave),
-- the fair share being half of the smallest of the last three (never less than p_min_micros, one call's worst
-- case; 0 asks only to extend the validity, as a process does while its calls are in flight), so a second process or a second key on the same account still gets money and a small balance is
-- granted one call's worth at a time. It is reserved in one conditional UPDATE of the account (held and budget
-- counters) after the key's, the member's and the account's rows are locked, and on the key and the member; less than p_min_micros raises (TG402 balance, TG429 budget, with
-- the amounts) and nothing persists. A lease lives at most p_ttl_seconds per grant and never past the next UTC
-- midnight, so every grant of a lease counts in the UTC day it was opened. The same nonce again answers the
-- grant already made. Keys whose plan counts requests per day are billed per call (place_hold): TG422.
create or replace function public.grant_lease(
  p_lease_id uuid, p_key_id uuid, p_process_id text, p_nonce text, p_want_micros bigint, p_min_micros bigint,
  p_ttl_seconds integer
) returns table (lease_id uuid, granted_micros bigint, reserved_micros bigint, expires_at timestamptz,
                available_micros bigint, outcome text)
language plpgsql as $$
#variable_conflict use_column
declare
  v_now timestamptz := tollgate_now();
  v_expires timestamptz := least(tollgate_now() + make_interval(secs => p_ttl_seconds),
                                 (budget_window(tollgate_now(), 'day') + 1)::timestamp at time zone 'utc');
  v_key record;
  v_lease record;
  v_key_room bigint;
  v_member record;
  v_member_room bigint := 9007199254740991;
  v_grant bigint;
  v_available bigint;
begin
  -- The grant's answer prices the lease's draws at its created_at (lib/billing/leases.ts), and settle_usage charges
  -- its calls at that moment: no version made meanwhile may take effect at or before it (docs/adr/0038).
  perform lock_price_book(false);
  if p_want_micros is null or p_min_micros is null or p_min_micros < 0 or p_want_micros < p_min_micros
     or p_ttl_seconds is null or p_ttl_seconds < 1 then
    raise exception 'want ≥ min ≥ 0 micro-USD and a positive validity are required' using errcode = 'TG422';
  end if;
  -- The key's row first (as place_hold and settle_usage lock it): its budgets cannot move under the grant.
  select k.id, k.user_id, k.status, u.status as user_status, a.id as account_id, p.requests_per_day,
         p.id as plan_id, a.organization_id,
         budget_room(k.daily_budget_micros, k.day_used_micros, k.budget_day,
                     k.monthly_budget_micros, k.month_used_micros, k.budget_month, v_now) as room
  into v_key
  from api_keys k join users u on u.id = k.user_id join accounts a on a.id = k.account_id
  left join plans p on p.id = plan_of(a.organization_id, a.plan_id, u.plan_id)
  where k.id = p_key_id
  for no key update of k;
  if not found or v_key.status <> 'active' or v_key.user_status <> 'active' then
    raise exception 'API key is not active' using errcode = 'TG401';
  end if;
  if v_key.requests_per_day is not null then
    raise exception 'keys on a plan with a daily request allowance are billed per call' using errcode = 'TG422';
  end if;
  v_key_room := greatest(0, coalesce(v_key.room, 9007199254740991));
  -- Then the member's (an organization key), the account's, then the lease's: the order every money function takes
  -- (no deadlock between them). The grant is sized to the smallest room of key, member and account.
  if v_key.organization_id is not null then
    select m.role,
           budget_room(m.daily_cap_micros, m.day_used_micros, m.budget_day,
                       m.monthly_cap_micros, m.month_used_micros, m.budget_month, v_now) as room
    into v_member
    from organization_members m where m.organization_id = v_key.organization_id and m.user_id = v_key.user_id
    for no key update;
    perform key_spends(v_key.organization_id, o.status, v_member.role, a.seats_due_micros)
    from accounts a join organizations o on o.id = a.organization_id where a.id = v_key.account_id;
    v_member_room := greatest(0, coalesce(v_member.room, 9007199254740991));
  end if;
  perform 1 from accounts a where a.id = v_key.account_id for no key update;

  select l.* into v_lease from leases l where l.id = p_lease_id for update;
  if found then
    if v_lease.key_id <> p_key_id then
      raise exception 'lease % belongs to another key', p_lease_id using errcode = 'TG409';
    end if;
    if v_lease.last_nonce = p_nonce then
      return query select v_lease.id, v_lease.last_granted_micros, v_lease.reserved_micros, v_lease.expires_at,
                          (select a.balance_micros - a.held_micros from accounts a where a.id = v_lease.account_id),
                          'replayed'::text;
      return;
    end if;
    if v_lease.status <> 'open' or v_lease.expires_at <= v_now then
      raise exception 'lease % is no longer open', p_lease_id using errcode = 'TG410';
    end if;
    -- A lease never outlives its UTC day: its extension keeps the day it was opened in.
    v_expires := least(v_expires, (budget_window(v_lease.created_at, 'day') + 1)::timestamp at time zone 'utc');
  end if;

  with current_room as (
    select a.id,
           least(a.balance_micros - a.held_micros, v_key_room, v_member_room,
                 budget_room(coalesce(a.daily_budget_micros, p.daily_budget_micros), a.day_used_micros, a.budget_day,
                             coalesce(a.monthly_budget_micros, p.monthly_budget_micros), a.month_used_micros,
                             a.budget_month, v_now)) as room
    from accounts a left join plans p on p.id = v_key.plan_id
    where a.id = v_key.account_id
    for no key update of a
  ),
  sized as (
    select id, greatest(0, least(p_want_micros, room, greatest(p_min_micros, room / 2))) as amount from current_room
  )
  update accounts a set
    held_micros = a.held_micros + s.amount,
    budget_day = budget_window(v_now, 'day'),
    day_used_micros = window_used(a.day_used_micros, a.budget_day, v_now, 'day') + s.amount,
    budget_month = budget_window(v_now, 'month'),
    month_used_micros = window_used(a.month_used_micros, a.budget_month, v_now, 'month') + s.amount
  from sized s
  where a.id = s.id and s.amount >= p_min_micros
  returning s.amount, a.balance_micros - a.held_micros into v_grant, v_available;

  if v_grant is null then
    if v_key_room < p_min_micros
       and (select a.balance_micros - a.held_micros >= p_min_micros from accounts a where a.id = v_key.account_id) then
      perform refuse('key', p_min_micros, null, null, k.daily_budget_micros, k.day_used_micros, k.budget_day,
                     k.monthly_budget_micros, k.month_used_micros, k.budget_month)
      from api_keys k where k.id = p_key_id;
    end if;
    if v_member_room < p_min_micros
       and (select a.balance_micros - a.held_micros >= p_min_micros from accounts a where a.id = v_key.account_id) then
      perform refuse('member', p_min_micros, null, null, m.daily_cap_micros, m.day_used_micros, m.budget_day,
                     m.monthly_cap_micros, m.month_used_micros, m.budget_month)
      from organization_members m where m.organization_id = v_key.organization_id and m.user_id = v_key.user_id;
    end if;
    perform refuse(case when a.balance_micros - a.held_micros < p_min_micros then 'balance' else 'account' end,
                   p_min_micros, a.balance_micros, a.held_micros,
                   coalesce(a.daily_budget_micros, p.daily_budget_micros), a.day_used_micros, a.budget_day,
                   coalesce(a.monthly_budget_micros, p.monthly_budget_micros), a.month_used_micros, a.budget_month)
    from accounts a left join plans p on p.id = v_key.plan_id where a.id = v_key.account_id;
  end if;

  perform reserve_on_key(p_key_id, v_grant, v_now, false);
  perform reserve_on_member(v_key.organization_id, v_key.user_id, v_grant, v_now, false);

  insert into leases as l (id, key_id, account_id, user_id, process_id, reserved_micros, granted_micros, grants,
                           last_nonce, last_granted_micros, created_at, expires_at)
  values (p_lease_id, p_key_id, v_key.account_id, v_key.user_id, p_process_id, v_grant, v_grant, 1,
          p_nonce, v_grant, v_now, v_expires)
  on conflict (id) do update set
    reserved_micros = l.reserved_micros + excluded.reserved_micros,
    granted_micros = l.granted_micros + excluded.granted_micros,
    grants = l.grants + 1,
    last_nonce = excluded.last_nonce,
    last_granted_micros = excluded.last_granted_micros,
    expires_at = v_expires
  returning l.reserved_micros, l.expires_at into v_lease;

  return query select p_lease_id, v_grant, v_lease.reserved_micros, v_lease.expires_at, v_available, 'granted'::text;
end;
$$;
