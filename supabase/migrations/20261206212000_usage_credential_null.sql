-- docs/adr/0033: a usage row served with the platform's credentials stores its credential as null ('platform' took
-- 9 bytes of nearly every row); 'byok' is stored. Catalog-only: rows written before keep 'platform'.
alter table public.usage_events alter column credential drop not null, alter column credential drop default;
