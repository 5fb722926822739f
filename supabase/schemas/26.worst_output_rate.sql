-- The rate a worst case prices an output token at (clause 42): the dearer of output and reasoning, since every
-- output token may be reasoning. price_worst_case and worst_case_rates take it from here.
create or replace function public.worst_output_rate(pv public.price_versions) returns bigint
language sql immutable parallel safe as $$
  select greatest(pv.output_price_micros, coalesce(pv.reasoning_price_micros, 0))
$$;
