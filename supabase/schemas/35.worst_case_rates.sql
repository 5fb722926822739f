-- What a gateway prices its lease draws at (clause 42, docs/adr/0011): price_worst_case's rates for a price
-- version, resolved here so the gateway only multiplies and rounds — promptMicros and outputMicros per million
-- tokens (worst_prompt_rate, worst_output_rate), characterMicros per million characters, audioSecondMicros per
-- second, requestMicros per request, and images: image_rate for every size the version's rows name and for any
-- other (null), crossed with every quality they name and any other (null). A size or quality no row names is
-- priced as null, so a call's image rate is one lookup in this table.
create or replace function public.worst_case_rates(pv public.price_versions) returns jsonb
language sql immutable parallel safe as $$
  select jsonb_build_object(
    'promptMicros', worst_prompt_rate(pv),
    'outputMicros', worst_output_rate(pv),
    'characterMicros', pv.character_price_micros,
    'audioSecondMicros', pv.audio_second_price_micros,
    'requestMicros', pv.request_price_micros,
    'images', (select jsonb_agg(jsonb_build_object('size', s.size, 'quality', q.quality,
                                                   'micros', image_rate(pv, 'price', s.size, q.quality))
                                order by s.size nulls first, q.quality nulls first)
               from (select null::text as size
                     union select r->>'size' from jsonb_array_elements(pv.image_rates) r) s
               cross join (select null::text as quality
                           union select r->>'quality' from jsonb_array_elements(pv.image_rates) r) q))
$$;
