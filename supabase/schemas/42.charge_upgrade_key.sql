-- The idempotency key of the ledger transaction that re-prices a call upgraded to `p_status` (upgrade_usage writes
-- it; statements and customer webhooks find an upgrade's transaction by it). Inlined where it is called.
create or replace function public.charge_upgrade_key(p_key_id uuid, p_call_id text, p_status text) returns text
language sql immutable as $$
  select 'charge-upgrade:' || p_key_id || ':' || p_call_id || ':' || p_status
$$;
