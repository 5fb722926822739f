-- The most a call may be charged at a price version (clause 42; holds reserve it, the gateway's lease draws apply
-- its rates as worst_case_rates resolves them): its prompt (p_counts' input) as if every token were a cache write
-- where that rate is dearer than input, its output cap (output) as if every token were reasoning where that rate is
-- dearer than output, each image it asks for (at the rate of the size and quality it asks for), what else it asks
-- for (audio length, characters: the contract's 'asked' units), and the request fee. No cached-read discount is
-- assumed, so the token classes inside the prompt and the output are not counted apart.
create or replace function public.price_worst_case(
  pv public.price_versions, p_counts jsonb, p_image_size text, p_image_quality text
) returns bigint
language plpgsql immutable parallel safe as $$
begin
  -- price_call adds the request fee and the image rate for the size and quality asked.
  return price_call(pv, 'price',
                    unit_rates(pv, 'price')
                    || jsonb_build_object('input', worst_prompt_rate(pv), 'output', worst_output_rate(pv)),
                    p_counts - array['cached', 'cacheWrite', 'reasoning'], p_image_size, p_image_quality);
end;
$$;
