-- Retention's move of the claims horizon (docs/adr/0022), at most once per p_every: when the horizon row says it was
-- looked at less than p_every before p_at (the run's moment), the horizon stays and nothing is read; else it goes to
-- p_target, but never past usage_claims_horizon_bound(), and the row records p_at (checked_at). Returns the horizon.
-- Call it alone, in its own short transaction (a statement of its own): advance_usage_claims_horizon holds the
-- exclusive advisory lock that the webhook's batches wait for to its commit.
create or replace function public.advance_usage_claims_horizon_every(p_target timestamptz, p_at timestamptz,
                                                                     p_every interval)
returns timestamptz
language plpgsql
set search_path = public
as $$
declare
  v_row usage_claims_horizon;
  v_bound timestamptz;
  v_kept_from timestamptz;
begin
  if p_target is null or p_at is null or p_every is null then
    raise exception 'advance_usage_claims_horizon_every: a target, a moment and an interval are required'
      using errcode = '22023';
  end if;
  select * into v_row from usage_claims_horizon;
  if v_row.checked_at is not null and p_at >= v_row.checked_at and p_at < v_row.checked_at + p_every then
    return v_row.kept_from;
  end if;
  -- The bound is read only once the batches in flight have committed (the exclusive lock advance_usage_claims_horizon
  -- takes, taken first here; it is held to the commit, so taking it again there waits for nothing): a batch that had
  -- read the old horizon and was recording a late call into usage_events_default would otherwise be passed by it.
  perform set_config('lock_timeout', '5s', true);
  perform pg_advisory_xact_lock(hashtextextended('tollgate.usage_calls.horizon', 0));
  v_bound := usage_claims_horizon_bound();
  v_kept_from := advance_usage_claims_horizon(least(p_target, coalesce(v_bound, p_target)));
  update usage_claims_horizon set checked_at = p_at;
  return v_kept_from;
end;
$$;
