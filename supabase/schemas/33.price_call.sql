-- What one call's reported units (p_counts, keyed by the contract's unit keys) come to at a price version: its sell
-- price (p_side 'price', what the account is charged) or its provider cost ('cost', what margins subtract), one
-- request included, at the version's rates for that side (p_rates: unit_rates(pv, p_side), which a batch resolves
-- once per version). Every charge and re-pricing (settle_usage, upgrade_usage) goes through here. Images are priced
-- at the rate for the size and quality the call asked for (image_rate; looked up only for a call with images, which
-- keeps token calls' settlement as fast as it was).
create or replace function public.price_call(
  pv public.price_versions, p_side text, p_rates jsonb, p_counts jsonb, p_image_size text, p_image_quality text
) returns bigint
language plpgsql immutable parallel safe as $$
begin
  if coalesce((p_counts->>'image')::bigint, 0) > 0 then
    p_rates := p_rates || jsonb_build_object('image', image_rate(pv, p_side, p_image_size, p_image_quality));
  end if;
  return price_units(coalesce(p_counts, '{}') || '{"request": 1}', p_rates);
end;
$$;
