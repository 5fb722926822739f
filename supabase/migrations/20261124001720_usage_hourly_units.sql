-- usage_hourly sums the units beyond tokens too (images, audio ms, characters), so the usage views show what each
-- call kind was billed by. Every event before this had none of them (the columns are new): nothing to backfill.
alter table public.usage_hourly
  add column images bigint not null default 0,
  add column audio_ms bigint not null default 0,
  add column characters bigint not null default 0;
