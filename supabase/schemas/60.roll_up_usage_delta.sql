-- Adds usage events (p_added) to usage_hourly and takes others out (p_removed): their counts, tokens, other units
-- (images, audio ms, characters), money, response-cache hits and savings, and the calls served with the owner's own
-- provider credentials (credential 'byok') and what they were charged, per
-- UTC hour × model group × call kind × outcome × billing status, in one upsert. Rows are upserted in key order, so
-- concurrent batches lock the hours they share in the same order. Called by the roll_up_usage triggers only.
create or replace function public.roll_up_usage_delta(p_added public.usage_events[], p_removed public.usage_events[])
returns void
language sql
set search_path = public
as $$
  insert into usage_hourly as h (hour, model_group, kind, status, billing_status, calls, errors, tokens_in, tokens_out,
                                 images, audio_ms, characters, revenue_micros, cost_micros, cache_hits,
                                 cache_saved_micros, byok_calls, byok_revenue_micros)
  select hour, model_group, kind, status, billing_status, sum(calls), sum(errors), sum(tokens_in), sum(tokens_out),
         sum(images), sum(audio_ms), sum(characters), sum(revenue), sum(cost), sum(cache_hits), sum(cache_saved),
         sum(byok_calls), sum(byok_revenue)
  from (
    -- Each event once, signed: +1 added, -1 taken out.
    select date_trunc('hour', e.started_at at time zone 'utc') as hour, e.model_group, e.kind, e.status,
           billing_status(e.status) as billing_status, e.sign as calls,
           e.sign * (e.error_class is not null)::int as errors,
           e.sign * e.prompt_tokens as tokens_in, e.sign * e.completion_tokens as tokens_out,
           e.sign * coalesce(e.images, 0) as images, e.sign * coalesce(e.audio_ms, 0) as audio_ms,
           e.sign * coalesce(e.characters, 0) as characters, e.sign * e.revenue_micros as revenue,
           e.sign * e.cost_micros as cost, e.sign * e.cache_hit::int as cache_hits,
           e.sign * coalesce(e.cache_saved_micros, 0) as cache_saved,
           e.sign * (e.credential is not distinct from 'byok')::int as byok_calls,
           e.sign * case when e.credential = 'byok' then e.revenue_micros else 0 end as byok_revenue
    from (select *, 1 as sign from unnest(p_added) union all select *, -1 from unnest(p_removed)) e
  ) d
  group by hour, model_group, kind, status, billing_status
  order by hour, model_group, kind, status, billing_status
  on conflict (hour, model_group, kind, status, billing_status) do update set
    calls = h.calls + excluded.calls,
    errors = h.errors + excluded.errors,
    tokens_in = h.tokens_in + excluded.tokens_in,
    tokens_out = h.tokens_out + excluded.tokens_out,
    images = h.images + excluded.images,
    audio_ms = h.audio_ms + excluded.audio_ms,
    characters = h.characters + excluded.characters,
    revenue_micros = h.revenue_micros + excluded.revenue_micros,
    cost_micros = h.cost_micros + excluded.cost_micros,
    cache_hits = h.cache_hits + excluded.cache_hits,
    cache_saved_micros = h.cache_saved_micros + excluded.cache_saved_micros,
    byok_calls = h.byok_calls + excluded.byok_calls,
    byok_revenue_micros = h.byok_revenue_micros + excluded.byok_revenue_micros;
$$;
