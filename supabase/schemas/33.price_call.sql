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
  return price_call(pv, p_side, p_rates, p_counts, p_image_size, p_image_quality,
                    token_charge(p_counts, p_rates));
end;
$$;

-- The same with the call's token classes priced already (p_tokens: token_charge of the counts and of p_rates' token
-- rates, which settle_usage reads once per call and once per price version): no count or rate is looked up twice.
create or replace function public.price_call(
  pv public.price_versions, p_side text, p_rates jsonb, p_counts jsonb, p_image_size text, p_image_quality text,
  p_tokens bigint
) returns bigint
language plpgsql immutable parallel safe as $$
declare
  -- Once: price_units reads the map once per unit.
  v_counts jsonb := coalesce(p_counts, '{}') || '{"request": 1}';
begin
  if coalesce((p_counts->>'image')::bigint, 0) > 0 then
    p_rates := p_rates || jsonb_build_object('image', image_rate(pv, p_side, p_image_size, p_image_quality));
  end if;
  return price_units(v_counts, p_rates, p_tokens);
end;
$$;
