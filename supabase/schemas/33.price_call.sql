-- What one call's reported units come to at a price version: its sell price (p_side 'price', what the account is
-- charged) or its provider cost ('cost', what margins subtract), one request included. Every charge and re-pricing
-- (settle_usage, upgrade_usage) goes through here. Images are priced at the rate for the size and quality the call
-- asked for (image_rate; looked up only for a call with images, which keeps token calls' settlement as fast as it
-- was).
create or replace function public.price_call(
  pv public.price_versions, p_side text, p_input bigint, p_output bigint, p_cached bigint, p_cache_write bigint,
  p_reasoning bigint, p_images bigint, p_audio_ms bigint, p_characters bigint, p_image_size text,
  p_image_quality text
) returns bigint
language sql immutable parallel safe as $$
  select case when p_side = 'price' then
           price_units(p_input, p_output, p_cached, p_cache_write, p_reasoning, p_images, p_audio_ms, p_characters, 1,
                       pv.input_price_micros, pv.output_price_micros, pv.cached_input_price_micros,
                       pv.cache_write_price_micros, pv.reasoning_price_micros,
                       case when p_images > 0 then image_rate(pv, 'price', p_image_size, p_image_quality) else 0 end,
                       pv.audio_second_price_micros, pv.character_price_micros, pv.request_price_micros)
         else
           price_units(p_input, p_output, p_cached, p_cache_write, p_reasoning, p_images, p_audio_ms, p_characters, 1,
                       pv.input_cost_micros, pv.output_cost_micros, pv.cached_input_cost_micros,
                       pv.cache_write_cost_micros, pv.reasoning_cost_micros,
                       case when p_images > 0 then image_rate(pv, 'cost', p_image_size, p_image_quality) else 0 end,
                       pv.audio_second_cost_micros, pv.character_cost_micros, pv.request_cost_micros)
         end
$$;
