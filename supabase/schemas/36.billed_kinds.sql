-- The call kinds a price version bills (clause 44): a route serves a model only where the model's price in force
-- charges for a unit that route reports — the contract's `bills` of each unit (price_unit_contract): tokens on the
-- text routes (input tokens on embeddings), images on image generation (its own rate or a size and quality row),
-- characters on speech, seconds of audio on transcription — or where an admin marked the model free on purpose
-- (models.free). Otherwise a model sold by another unit (an image model through chat) would be served for nothing.
-- A request fee alone bills no route. place_hold and the lease grant's prices take it from here.
create or replace function public.billed_kinds(pv public.price_versions, p_free boolean) returns text[]
language plpgsql stable parallel safe as $$
declare
  v_rates jsonb := unit_rates(pv, 'price');
  v_billed text[];
begin
  select array_agg(b.kind) into v_billed
  from price_unit_contract d cross join unnest(d.bills) as b(kind)
  where (v_rates->>d.key)::bigint > 0
     or d.key = 'image' and exists (select 1 from jsonb_array_elements(coalesce(pv.image_rates, '[]'::jsonb)) i
                                    where (i->>'price_micros')::bigint > 0);
  return array(
    select k.kind
    from unnest(array['chat', 'completion', 'responses', 'messages', 'embedding', 'image', 'speech',
                      'transcription']) with ordinality as k(kind, n)
    where p_free or k.kind = any(v_billed)
    order by k.n);
end;
$$;
