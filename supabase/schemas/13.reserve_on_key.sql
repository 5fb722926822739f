-- Reserves an amount in a key's budget windows (clause 26: a window from an earlier UTC day or month starts again at
-- 0), where p_check only if the key's budgets leave room for it (budget_room) — a hold's test; a lease grant sized
-- its amount to that room already. Whether the key took it. place_hold and grant_lease reserve on a key here.
-- PL/pgSQL, so its plan is kept for the session (a SQL function called from PL/pgSQL is planned at every call).
create or replace function public.reserve_on_key(p_key_id uuid, p_amount bigint, p_at timestamptz, p_check boolean)
returns boolean
language plpgsql as $$
begin
  update api_keys k set
    budget_day = budget_window(p_at, 'day'),
    day_used_micros = window_used(k.day_used_micros, k.budget_day, p_at, 'day') + p_amount,
    budget_month = budget_window(p_at, 'month'),
    month_used_micros = window_used(k.month_used_micros, k.budget_month, p_at, 'month') + p_amount
  where k.id = p_key_id
    and (not p_check
         or p_amount <= coalesce(budget_room(k.daily_budget_micros, k.day_used_micros, k.budget_day,
                                             k.monthly_budget_micros, k.month_used_micros, k.budget_month, p_at),
                                 p_amount));
  return found;
end;
$$;
