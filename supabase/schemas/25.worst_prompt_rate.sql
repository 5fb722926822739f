-- The rate a worst case prices a prompt token at (clause 42): the dearest of input, cache write and cached read,
-- since the provider may write the whole prompt to its cache, and no cached-read discount is assumed (a price book
-- may even sell cached reads dearer than input). price_worst_case and
-- the rates a lease's draws are priced at (worst_case_rates) take it from here.
create or replace function public.worst_prompt_rate(pv public.price_versions) returns bigint
language sql immutable parallel safe as $$
  select greatest(pv.input_price_micros, coalesce(pv.cache_write_price_micros, 0),
                  coalesce(pv.cached_input_price_micros, 0))
$$;
