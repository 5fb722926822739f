-- docs/adr/0033: a usage row stores a zero count as null (a null costs a bit of the row's null bitmap, a zero 4 or 8
-- bytes), and the platform's credential as null ('platform' took 9 bytes of nearly every row; 'byok' is stored).
-- Catalog-only: no row is rewritten; rows written before keep their zeros and 'platform', and every reader reads either
-- the same. Before the functions that write the nulls (the next migration).
alter table public.usage_events
  alter column reported_cost_micros drop not null, alter column reported_cost_micros drop default,
  alter column cached_tokens drop not null, alter column cached_tokens drop default,
  alter column cache_write_tokens drop not null, alter column cache_write_tokens drop default,
  alter column reasoning_tokens drop not null, alter column reasoning_tokens drop default,
  alter column images drop not null, alter column images drop default,
  alter column audio_ms drop not null, alter column audio_ms drop default,
  alter column characters drop not null, alter column characters drop default,
  alter column overrun_micros drop not null, alter column overrun_micros drop default,
  alter column credential drop not null, alter column credential drop default;
