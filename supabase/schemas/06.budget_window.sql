-- The budget window a moment falls in (billing contract, clause 26): its UTC day ('day') or the first day of its UTC
-- month ('month'). A usage counter is kept for one window (budget_day, budget_month): the window it was written in.
create or replace function public.budget_window(p_at timestamptz, p_grain text) returns date
language sql immutable parallel safe as $$
  select case p_grain when 'day' then (p_at at time zone 'utc')::date
                      when 'month' then date_trunc('month', p_at at time zone 'utc')::date end
$$;
