-- The one refusal of a reservation (a hold or a lease grant) for money (billing contract, clauses 5, 26, 31): raises
-- TG402 for the account's balance (p_scope 'balance') or TG429 for a budget level ('key', 'account'), with one
-- detail shape: amounts as exact decimal strings, the counters read in their window at tollgate_now(). Pass the
-- level's budgets and counters as stored (an account's plan budgets coalesced in); the balance and held amount are
-- the account's. The sentence is written from it once, by the platform (lib/billing/hold.ts refusal()).
create or replace function public.refuse(
  p_scope text, p_needed bigint, p_balance bigint, p_held bigint,
  p_daily_budget bigint, p_day_used bigint, p_budget_day date,
  p_monthly_budget bigint, p_month_used bigint, p_budget_month date
) returns void
language plpgsql stable as $$
declare
  v_detail text := json_build_object(
    'scope', p_scope, 'neededMicros', p_needed::text, 'balanceMicros', p_balance::text,
    'heldMicros', p_held::text, 'availableMicros', (p_balance - p_held)::text,
    'dailyBudgetMicros', p_daily_budget::text, 'monthlyBudgetMicros', p_monthly_budget::text,
    'dayUsedMicros', window_used(p_day_used, p_budget_day, tollgate_now(), 'day')::text,
    'monthUsedMicros', window_used(p_month_used, p_budget_month, tollgate_now(), 'month')::text)::text;
begin
  if p_scope = 'balance' then
    raise exception 'insufficient balance' using errcode = 'TG402', detail = v_detail;
  end if;
  raise exception '% budget exceeded', p_scope using errcode = 'TG429', detail = v_detail;
end;
$$;
