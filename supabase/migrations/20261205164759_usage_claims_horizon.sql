-- Outside review of the partitioned usage_events (docs/adr/0020, 0022), the money findings:
-- * usage_claims_horizon (one row): the claims in usage_calls are kept for every call started at or after kept_from.
--   Retention moves it forward (advance_usage_claims_horizon, its own short transaction) before it removes older
--   claims, and settle_usage never records nor charges an event started before it (it counts it as expired): without a
--   claim a replay of a dropped day's call would be recorded and charged a second time. '2000-01-01' until retention
--   removes claims (the webhook takes no moment before 2000 either).
-- * usage_events loses its foreign keys to leases and ledger_transactions: attaching a new day's partition added their
--   triggers and took SHARE ROW EXCLUSIVE on both tables until the partition job committed (every ledger write and
--   lease grant waited, and a webhook batch with an upgrade deadlocked with the job). settle_usage writes both ids
--   itself, from the lease row its UPDATE just locked and the ledger transaction it just inserted, in one statement;
--   neither table ever deletes a row.
-- * settle_usage answers how many events it left uncharged as expired (before the horizon, or starting more than a day
--   after tollgate_now()) and as trimmed (their call's row an organization's policy removed): its result type changes,
--   so the function goes and the generated migration after this one makes it again.

create table public.usage_claims_horizon (
  id boolean not null default true,
  kept_from timestamptz not null default '2000-01-01 00:00:00+00',
  updated_at timestamptz not null default now(),
  constraint usage_claims_horizon_pkey primary key (id),
  constraint usage_claims_horizon_one_row check (id)
);
alter table public.usage_claims_horizon enable row level security;
-- A database whose retention already removed claims: none is kept before its oldest daily partition.
insert into public.usage_claims_horizon (kept_from)
select coalesce((select min(p.from_at) from public.usage_partitions() p where not p.is_default
                 and exists (select 1 from public.retention_runs)),
                '2000-01-01 00:00:00+00');

alter table public.usage_events drop constraint usage_events_lease_id_fkey;
alter table public.usage_events drop constraint usage_events_ledger_transaction_id_fkey;

drop function public.settle_usage(jsonb, uuid);
