-- Images priced by size and quality (issue: bill every kind of call; clause 43). A price version may list image
-- rates for particular sizes and qualities beside its own image rate (the model's default size and quality):
-- [{"size": "1792x1024", "quality": "hd", "price_micros": 120000, "cost_micros": 80000}, ...]. They are part of the
-- version, so they stay append-only with it; image_rates_valid (next migrations) checks their form. Each call
-- records the size and quality it asked for, which its hold and its charge are priced at.
alter table public.price_versions add column image_rates jsonb not null default '[]'::jsonb;

alter table public.usage_events
  add column image_size text,
  add column image_quality text,
  add constraint usage_events_image_size_check check (image_size ~ '^(auto|[0-9]{2,5}x[0-9]{2,5})$'),
  add constraint usage_events_image_quality_check check (
    image_quality in ('standard', 'hd', 'low', 'medium', 'high', 'auto'));

-- price_call, price_worst_case and place_hold take the size and quality.
drop function public.price_call(public.price_versions, text, bigint, bigint, bigint, bigint, bigint, bigint, bigint,
                                bigint);
drop function public.price_worst_case(public.price_versions, bigint, bigint, bigint, bigint, bigint);
drop function public.place_hold(uuid, text, text, text, integer, integer, integer, text[], integer, bigint, integer);
