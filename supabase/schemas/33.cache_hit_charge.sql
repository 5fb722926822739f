-- What a call answered from the response cache is charged (issue 30, billing contract clause 60): the price of the
-- same call served by the provider (p_full, from price_call) × the model's cache-hit share (price_versions.
-- cache_hit_bps, basis points 0–10,000), rounded up once. Never more than p_full, so a call's reservation (sized
-- for the provider's answer) bounds it. settle_usage and upgrade_usage charge hits through here; what the customer
-- saved is p_full minus this.
create or replace function public.cache_hit_charge(p_full bigint, p_bps integer)
returns bigint
language sql immutable parallel safe as $$
  select ceil(p_full::numeric * p_bps / 10000)::bigint;
$$;
