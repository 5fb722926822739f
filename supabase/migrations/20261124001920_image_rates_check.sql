-- The image rates' form, checked by image_rates_valid (supabase/schemas/27.image_rates_valid.sql) on every version.
alter table public.price_versions
  add constraint price_versions_image_rates_check check (public.image_rates_valid(image_rates));
