-- What a gateway prices its lease draws at (clause 42, docs/adr/0011): price_worst_case's rates for a price
-- version, resolved here so the gateway only multiplies and rounds — promptMicros and outputMicros per million
-- tokens (worst_prompt_rate, worst_output_rate); units: the rate of each unit a call asks for or pays per request
-- (the contract's 'asked' and 'always' units, keyed by unit key; the gateway scales each as the contract says); and
-- images: image_rate for every size the version's rows name and for any other (null), crossed with every quality
-- they name and any other (null). A size or quality no row names is priced as null, so a call's image rate is one
-- lookup in this table.
create or replace function public.worst_case_rates(pv public.price_versions) returns jsonb
language plpgsql stable parallel safe as $$
declare
  v_rates jsonb := unit_rates(pv, 'price');
begin
  return jsonb_build_object(
    'promptMicros', worst_prompt_rate(pv),
    'outputMicros', worst_output_rate(pv),
    'units', (select jsonb_object_agg(d.key, v_rates->d.key)
              from price_unit_contract d where d.reserve in ('asked', 'always')),
    'images', (select jsonb_agg(jsonb_build_object('size', s.size, 'quality', q.quality,
                                                   'micros', image_rate(pv, 'price', s.size, q.quality))
                                order by s.size nulls first, q.quality nulls first)
               from (select null::text as size
                     union select r->>'size' from jsonb_array_elements(pv.image_rates) r) s
               cross join (select null::text as quality
                           union select r->>'quality' from jsonb_array_elements(pv.image_rates) r) q));
end;
$$;
