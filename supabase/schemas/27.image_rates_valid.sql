-- Whether a price version's image rates (price_versions.image_rates) are well formed: an array of at most 50
-- objects, each {"size", "quality", "price_micros", "cost_micros"} and nothing else, where size is an image size as
-- the gateway accepts it ("1024x1024", "auto") or null (any size), quality one of the accepted qualities or null (any
-- quality), not both null (that is the version's own image rate), both amounts whole micro-USD from 0 to $1,000, and
-- no (size, quality) pair twice. The price-book API checks the same with zod; this check keeps every writer honest.
-- CASE guards each cast: SQL does not promise to evaluate AND from left to right.
create or replace function public.image_rates_valid(p_rates jsonb) returns boolean
language sql immutable parallel safe as $$
  select case
    when p_rates is null or jsonb_typeof(p_rates) <> 'array' or jsonb_array_length(p_rates) > 50 then false
    else (
      select coalesce(bool_and(case
               when jsonb_typeof(r) <> 'object' then false
               when (select array_agg(k order by k) from jsonb_object_keys(r) k)
                    <> array['cost_micros', 'price_micros', 'quality', 'size'] then false
               when jsonb_typeof(r->'size') = 'null' and jsonb_typeof(r->'quality') = 'null' then false
               when jsonb_typeof(r->'size') not in ('null', 'string')
                    or jsonb_typeof(r->'quality') not in ('null', 'string') then false
               when jsonb_typeof(r->'price_micros') <> 'number' or jsonb_typeof(r->'cost_micros') <> 'number' then false
               else coalesce(r->>'size' ~ '^(auto|[0-9]{2,5}x[0-9]{2,5})$', true)
                    and coalesce(r->>'quality' in ('standard', 'hd', 'low', 'medium', 'high', 'auto'), true)
                    and (r->>'price_micros')::numeric between 0 and 1000000000
                    and (r->>'cost_micros')::numeric between 0 and 1000000000
                    and (r->>'price_micros')::numeric = trunc((r->>'price_micros')::numeric)
                    and (r->>'cost_micros')::numeric = trunc((r->>'cost_micros')::numeric)
             end), true)
             and count(distinct coalesce(r->>'size', '') || '/' || coalesce(r->>'quality', '')) = count(*)
      from jsonb_array_elements(p_rates) r)
  end
$$;
