-- The one budget window rule (billing contract, clause 26): a counter from an earlier UTC day or month counts as zero.
-- p_used was counted in the window p_window (a counter's budget_day or budget_month); at p_at it is p_used if p_at
-- falls in that window, else 0. The same rule moves a counter: a delta belonging to p_at changes a counter kept for
-- p_window only if p_at falls in it (a window that has rolled over since is left alone).
create or replace function public.window_used(p_used bigint, p_window date, p_at timestamptz, p_grain text)
returns bigint
language sql immutable parallel safe as $$
  select case when p_window = budget_window(p_at, p_grain) then p_used else 0 end
$$;
