-- The charge for a token count at a price (micro-USD per million tokens), rounded up once: clause 1. The token-only
-- case of price_units.
create or replace function public.price_tokens(
  p_input bigint, p_output bigint, p_cached bigint,
  p_input_price bigint, p_output_price bigint, p_cached_price bigint
) returns bigint
language sql immutable parallel safe as $$
  select price_units(jsonb_build_object('input', p_input, 'output', p_output, 'cached', p_cached),
                     jsonb_build_object('input', p_input_price, 'output', p_output_price, 'cached', p_cached_price))
$$;
