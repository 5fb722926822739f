-- The most a call may be charged at a price version (clause 42; holds reserve it, the gateway's lease draws apply
-- its rates as worst_case_rates resolves them): its prompt as if every token were a cache write where that rate is
-- dearer than input, its output cap as if every token were reasoning where that rate is dearer than output, each
-- image it asks for (at the rate of the size and quality it asks for), its audio's length, its characters, and the
-- request fee. No cached-read discount is assumed.
create or replace function public.price_worst_case(
  pv public.price_versions, p_prompt bigint, p_output bigint, p_images bigint, p_audio_ms bigint, p_characters bigint,
  p_image_size text, p_image_quality text
) returns bigint
language sql immutable parallel safe as $$
  select price_units(p_prompt, p_output, 0, 0, 0, p_images, p_audio_ms, p_characters, 1,
                     worst_prompt_rate(pv), worst_output_rate(pv),
                     null, null, null,
                     case when p_images > 0 then image_rate(pv, 'price', p_image_size, p_image_quality) else 0 end,
                     pv.audio_second_price_micros, pv.character_price_micros, pv.request_price_micros)
$$;
