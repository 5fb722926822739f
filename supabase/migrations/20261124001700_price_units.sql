-- Price units beyond tokens (issue: bill every kind of call). A price version may price, besides input, output and
-- cached-input tokens: cache-write tokens and reasoning tokens at their own rates (per million; null: the input or
-- output rate), images (each), audio in (per second), characters out (per million) and a flat fee per request.
-- Versions stay append-only: the new columns are defaulted in the catalog (no row is rewritten or updated).
alter table public.price_versions
  add column cache_write_cost_micros bigint,
  add column cache_write_price_micros bigint,
  add column reasoning_cost_micros bigint,
  add column reasoning_price_micros bigint,
  add column image_cost_micros bigint not null default 0,
  add column image_price_micros bigint not null default 0,
  add column audio_second_cost_micros bigint not null default 0,
  add column audio_second_price_micros bigint not null default 0,
  add column character_cost_micros bigint not null default 0,
  add column character_price_micros bigint not null default 0,
  add column request_cost_micros bigint not null default 0,
  add column request_price_micros bigint not null default 0,
  add constraint price_versions_units_nonnegative_check check (
    coalesce(cache_write_cost_micros, 0) >= 0 and coalesce(cache_write_price_micros, 0) >= 0
    and coalesce(reasoning_cost_micros, 0) >= 0 and coalesce(reasoning_price_micros, 0) >= 0
    and image_cost_micros >= 0 and image_price_micros >= 0
    and audio_second_cost_micros >= 0 and audio_second_price_micros >= 0
    and character_cost_micros >= 0 and character_price_micros >= 0
    and request_cost_micros >= 0 and request_price_micros >= 0);

-- What each call was billed by, beside its prompt, completion and cached tokens.
alter table public.usage_events
  add column cache_write_tokens integer not null default 0,
  add column reasoning_tokens integer not null default 0,
  add column images integer not null default 0,
  add column audio_ms bigint not null default 0,
  add column characters integer not null default 0,
  add constraint usage_events_units_nonnegative_check check (
    cache_write_tokens >= 0 and reasoning_tokens >= 0 and images >= 0 and audio_ms >= 0 and characters >= 0);

-- place_hold takes the call's images, audio length and characters (defaulted, so a token call reads as before).
drop function public.place_hold(uuid, text, text, text, integer, integer, integer, text[]);
