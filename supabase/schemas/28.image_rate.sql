-- What one image costs at a price version (clause 43): its sell price (p_side 'price') or provider cost ('cost') for
-- the size and quality the call asked for. The version's image rates are searched for the most specific row that
-- matches — size and quality both named, then size alone, then quality alone (a row's null matches anything) — and
-- a call that names no size or quality matches only rows that leave it open. No row: the version's own image rate,
-- which is the model's default size and quality. Holds, lease draws and charges all take the rate from here, for
-- the size and quality the app asked for, so a hold is never below its charge.
create or replace function public.image_rate(pv public.price_versions, p_side text, p_size text, p_quality text)
returns bigint
language sql immutable parallel safe as $$
  select coalesce(
    (select (r->>(case when p_side = 'price' then 'price_micros' else 'cost_micros' end))::bigint
     from jsonb_array_elements(pv.image_rates) r
     where (jsonb_typeof(r->'size') = 'null' or r->>'size' = p_size)
       and (jsonb_typeof(r->'quality') = 'null' or r->>'quality' = p_quality)
     order by jsonb_typeof(r->'size') <> 'null' desc, jsonb_typeof(r->'quality') <> 'null' desc
     limit 1),
    case when p_side = 'price' then pv.image_price_micros else pv.image_cost_micros end)
$$;
