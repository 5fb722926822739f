-- What a key (p_key_id) or, p_key_id null, a whole account (p_account_id) has been charged in the UTC day or month
-- of p_at (billing contract, clause 26), from its budget counter p_used kept for p_window. A reservation adds its
-- amount to the counter when it is made (place_hold, grant_lease), and settling or releasing it moves the counter by
-- charge − reserved in the window the reservation was made in; so the counter is the window's charges plus the
-- window's live reservations (open holds, what open or closing leases still reserve), and the counter minus those
-- is exactly what was charged. Cheap: live reservations are few, found by the key's or the account's index.
create or replace function public.window_charged(
  p_used bigint, p_window date, p_account_id uuid, p_key_id uuid, p_at timestamptz, p_grain text
) returns bigint
language sql stable parallel safe as $$
  with reserved(amount_micros, created_at) as (
    select h.amount_micros, h.created_at from holds h
    where h.key_id = p_key_id and h.status = 'open'
    union all
    select h.amount_micros, h.created_at from holds h
    where p_key_id is null and h.account_id = p_account_id and h.status = 'open'
    union all
    select l.reserved_micros, l.created_at from leases l
    where l.key_id = p_key_id and l.status in ('open', 'closing')
    union all
    select l.reserved_micros, l.created_at from leases l
    where p_key_id is null and l.account_id = p_account_id and l.status in ('open', 'closing')
  )
  select greatest(0, window_used(p_used, p_window, p_at, p_grain) - coalesce(
    (select sum(r.amount_micros) from reserved r
     where budget_window(r.created_at, p_grain) = budget_window(p_at, p_grain)), 0))::bigint
$$;
