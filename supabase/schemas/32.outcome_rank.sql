-- How good a call's reported outcome is (billing contract, clause 9): with retries and fallbacks one call can
-- report a failed attempt, then a cut stream or a success; the best outcome is the one charged.
create or replace function public.outcome_rank(p_status text) returns integer
language sql immutable parallel safe as $$
  select case p_status when 'success' then 2 when 'cut' then 1 else 0 end
$$;
