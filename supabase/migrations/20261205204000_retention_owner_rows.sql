-- Retention deletes the dashboard's per-day owner roll-ups (usage_owner_days, usage_owner_activity; docs/adr/0024)
-- with the hourly roll-ups, past the same cutoff; each run records how many rows left.
alter table public.retention_runs add column owner_rows_deleted bigint not null default 0;
