-- How a call's charge stands, from its outcome alone (billing contract, clause 9): a served call is charged exactly
-- ('exact'), a stream cut short is charged for what it delivered, counted by the gateway ('estimated'), and a failed
-- call is not charged ('waived'). usage_events stores the outcome only (docs/adr/0043); every reader of a call's
-- billing status, and the roll-ups that keep it (usage_hourly, usage_rollups, retention_trimmed_usage), read it here.
-- Not STRICT, so a query inlines it.
create or replace function public.billing_status(p_status text) returns text
language sql immutable parallel safe as $$
  select case p_status when 'success' then 'exact' when 'cut' then 'estimated' else 'waived' end
$$;
