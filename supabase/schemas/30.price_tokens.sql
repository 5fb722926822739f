-- The charge for a token count at a price (micro-USD per million tokens), rounded up once: clause 1.
create or replace function public.price_tokens(
  p_input bigint, p_output bigint, p_cached bigint,
  p_input_price bigint, p_output_price bigint, p_cached_price bigint
) returns bigint
language sql immutable parallel safe as $$
  select ((p_input - least(p_cached, p_input)) * p_input_price
          + least(p_cached, p_input) * coalesce(p_cached_price, p_input_price)
          + p_output * p_output_price
          + 999999) / 1000000
$$;
