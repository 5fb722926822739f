-- The charge for a token count at a price (micro-USD per million tokens), rounded up once: clause 1. The token-only
-- case of price_units.
create or replace function public.price_tokens(
  p_input bigint, p_output bigint, p_cached bigint,
  p_input_price bigint, p_output_price bigint, p_cached_price bigint
) returns bigint
language sql immutable parallel safe as $$
  select price_units(p_input, p_output, p_cached, 0, 0, 0, 0, 0, 0,
                     p_input_price, p_output_price, p_cached_price, null, null, 0, 0, 0, 0)
$$;
