-- The call kinds a price version bills (clause 44): a route serves a model only where the model's price in force
-- charges for the unit that route reports — tokens on the text routes (input tokens on embeddings), images on image
-- generation, characters on speech, seconds of audio on transcription — or where an admin marked the model free on
-- purpose (models.free). Otherwise a model sold by another unit (an image model through chat) would be served for
-- nothing. A request fee alone does not bill a route's unit. place_hold and the lease grant's prices take it from here.
create or replace function public.billed_kinds(pv public.price_versions, p_free boolean) returns text[]
language sql immutable parallel safe as $$
  select array(
    select k.kind
    from unnest(array['chat', 'completion', 'responses', 'messages', 'embedding', 'image', 'speech',
                      'transcription']) with ordinality as k(kind, n)
    where p_free or case k.kind
      when 'embedding' then pv.input_price_micros > 0
      when 'image' then pv.image_price_micros > 0
        or exists (select 1 from jsonb_array_elements(coalesce(pv.image_rates, '[]'::jsonb)) r
                   where (r->>'price_micros')::bigint > 0)
      when 'speech' then pv.character_price_micros > 0
      when 'transcription' then pv.audio_second_price_micros > 0
      else pv.input_price_micros > 0 or pv.output_price_micros > 0
    end
    order by k.n)
$$;
