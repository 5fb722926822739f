-- What a call served with the owner's own provider credentials is charged (issue 29, billing contract clause 62):
-- the plan's share of the call's full price (p_full, from price_call), ⌈p_full × its share / 10,000⌉ (byok_fees), plus its
-- per-request fee, never more than p_full: the call's reservation (sized for the full price) bounds it, and a BYOK
-- call never costs more than the platform's own keys would have. A failed call (p_full 0) is free. settle_usage and
-- upgrade_usage charge BYOK calls through here.
create or replace function public.byok_charge(p_full bigint, p_account_id uuid)
returns bigint
language sql stable parallel safe as $$
  select least(p_full, cache_hit_charge(p_full, f.fee_bps) + f.fee_request_micros) from byok_fees(p_account_id) f;
$$;
