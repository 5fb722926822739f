-- Moves the claims horizon (usage_claims_horizon.kept_from: usage_calls keeps the claim of every call started at or
-- after it) forward to p_kept_from, never back, and returns it. Retention calls it, alone in its own short
-- transaction, before it removes claims, and removes only claims started before what it returns: settle_usage never
-- records nor charges an event started before the horizon, so a replay of a call whose claim is gone is counted as
-- expired instead of charged a second time (docs/adr/0022). The exclusive advisory lock waits for the webhook batches
-- in flight (settle_usage holds it shared to their commit), so none of them claims a call under the old horizon after
-- the claims start to go; batches arriving meanwhile wait for this transaction's commit, so it must stay short.
create or replace function public.advance_usage_claims_horizon(p_kept_from timestamptz)
returns timestamptz
language plpgsql
set search_path = public
as $$
declare
  v_kept_from timestamptz;
begin
  if p_kept_from is null then
    raise exception 'advance_usage_claims_horizon: a moment is required' using errcode = '22023';
  end if;
  perform set_config('lock_timeout', '5s', true);
  perform pg_advisory_xact_lock(hashtextextended('tollgate.usage_calls.horizon', 0));
  update usage_claims_horizon set kept_from = greatest(kept_from, p_kept_from), updated_at = now()
  returning kept_from into v_kept_from;
  return v_kept_from;
end;
$$;
