-- Reserves an amount in an organization member's cap windows (ADR 0016; clause 26: a window from an earlier UTC day
-- or month starts again at 0), where p_check only if the member's caps leave room for it (budget_room) — a hold's
-- test; a lease grant sized its amount to that room already. Whether the member took it; a key of a person's own
-- account (p_organization_id null) has no member level and always takes it. place_hold and grant_lease reserve on a
-- member here, after the key and before the account (the lock order of every money function).
create or replace function public.reserve_on_member(
  p_organization_id uuid, p_user_id uuid, p_amount bigint, p_at timestamptz, p_check boolean
) returns boolean
language plpgsql as $$
begin
  if p_organization_id is null then
    return true;
  end if;
  update organization_members m set
    budget_day = budget_window(p_at, 'day'),
    day_used_micros = window_used(m.day_used_micros, m.budget_day, p_at, 'day') + p_amount,
    budget_month = budget_window(p_at, 'month'),
    month_used_micros = window_used(m.month_used_micros, m.budget_month, p_at, 'month') + p_amount
  where m.organization_id = p_organization_id and m.user_id = p_user_id
    and (not p_check
         or p_amount <= coalesce(budget_room(m.daily_cap_micros, m.day_used_micros, m.budget_day,
                                             m.monthly_cap_micros, m.month_used_micros, m.budget_month, p_at),
                                 p_amount));
  return found;
end;
$$;
