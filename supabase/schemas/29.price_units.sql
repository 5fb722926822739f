-- The charge for a call's units at a set of rates, rounded up once (clauses 1 and 41). Tokens are priced per million
-- by class: cached-input reads and cache writes are part of the input count, reasoning tokens part of the output
-- count (as LiteLLM reports them), so each token is priced once, at its class's rate (a null rate: the input or
-- output rate). Images are priced each, audio per second (counted in milliseconds), characters per million, and a
-- flat fee per request. Counts are clamped so no class exceeds what contains it.
create or replace function public.price_units(
  p_input bigint, p_output bigint, p_cached bigint, p_cache_write bigint, p_reasoning bigint,
  p_images bigint, p_audio_ms bigint, p_characters bigint, p_requests bigint,
  p_input_rate bigint, p_output_rate bigint, p_cached_rate bigint, p_cache_write_rate bigint,
  p_reasoning_rate bigint, p_image_rate bigint, p_audio_second_rate bigint, p_character_rate bigint,
  p_request_rate bigint
) returns bigint
language sql immutable parallel safe as $$
  select ((p_input - c.cached - c.written) * p_input_rate
          + c.cached * coalesce(p_cached_rate, p_input_rate)
          + c.written * coalesce(p_cache_write_rate, p_input_rate)
          + (p_output - c.reasoning) * p_output_rate
          + c.reasoning * coalesce(p_reasoning_rate, p_output_rate)
          + p_characters * p_character_rate
          + p_audio_ms * p_audio_second_rate * 1000
          + (p_images * p_image_rate + p_requests * p_request_rate) * 1000000
          + 999999) / 1000000
  from (select least(greatest(p_cached, 0), p_input) as cached,
               least(greatest(p_cache_write, 0), p_input - least(greatest(p_cached, 0), p_input)) as written,
               least(greatest(p_reasoning, 0), p_output) as reasoning) c
$$;
