-- What one budget level leaves at p_at (billing contract, clauses 5, 26): the least of its daily and its monthly
-- budget less what its current window has used (negative when overspent); null when it has neither budget. A level is
-- a key (its own budgets) or an account (its own, else its owner's plan's: pass them coalesced); an organization and
-- a member will be two more levels. What a call or a grant may take is least(available balance, each level's room).
create or replace function public.budget_room(
  p_daily_budget bigint, p_day_used bigint, p_budget_day date,
  p_monthly_budget bigint, p_month_used bigint, p_budget_month date, p_at timestamptz
) returns bigint
language sql immutable parallel safe as $$
  select least(p_daily_budget - window_used(p_day_used, p_budget_day, p_at, 'day'),
               p_monthly_budget - window_used(p_month_used, p_budget_month, p_at, 'month'))
$$;
