-- Compacting closed days of usage_events (issue 27, "Lean rows"; docs/adr/0027-compacting-closed-days.md): one row per
-- daily partition's index the queue's usage.compact job rebuilt packed (lib/usage/compact.ts), written before the
-- rebuild starts and completed after. An index counts as compacted while its current relation is the one recorded
-- (index_oid, with its name): a day's partition made again later has new indexes and is compacted again. A rebuild whose
-- caller went away (the function cut off) but which finished on the server is recognised by its index no longer being
-- old_oid, and completed by the next run.
create table public.usage_compactions (
  index_name text not null,
  partition_name text not null,
  day date not null,
  old_oid oid not null,
  index_oid oid,
  bytes_before bigint not null,
  heap_bytes bigint not null,
  bytes_after bigint,
  duration_ms integer,
  started_at timestamptz not null default now(),
  compacted_at timestamptz,
  constraint usage_compactions_pkey primary key (index_name),
  constraint usage_compactions_bytes_check check (bytes_before >= 0 and heap_bytes >= 0 and bytes_after >= 0),
  constraint usage_compactions_duration_check check (duration_ms >= 0),
  constraint usage_compactions_done_check check ((index_oid is null) = (compacted_at is null))
);
alter table public.usage_compactions enable row level security;
