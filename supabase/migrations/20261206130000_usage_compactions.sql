-- Compacting closed days of usage_events (issue 27, "Lean rows"; docs/adr/0027-compacting-closed-days.md): the record
-- of each daily partition's index rebuilt packed once its day closed (lib/usage/compact.ts, the queue's usage.compact
-- job). An index is compacted when its current relation (the oid REINDEX CONCURRENTLY gave it) is recorded here; a
-- day's partition made again later (a late replay of a day no partition held) has new indexes and is compacted again.
create table public.usage_compactions (
  index_oid oid not null,
  index_name text not null,
  partition_name text not null,
  day date not null,
  bytes_before bigint not null,
  bytes_after bigint not null,
  duration_ms integer not null,
  compacted_at timestamptz not null default now(),
  constraint usage_compactions_pkey primary key (index_oid),
  constraint usage_compactions_bytes_check check (bytes_before >= 0 and bytes_after >= 0),
  constraint usage_compactions_duration_check check (duration_ms >= 0)
);
create index usage_compactions_day_idx on public.usage_compactions (day);
alter table public.usage_compactions enable row level security;
