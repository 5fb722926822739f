-- usage_events becomes natively partitioned by RANGE (started_at), one partition per UTC day (issue 27, part 1;
-- docs/adr/0020-lean-usage-rows-and-the-partitioning-plan.md). Every existing row is kept.
--
-- * Partitions are named usage_events_pYYYYMMDD (pg_partman's convention) and hold [D 00:00 UTC, D+1 00:00 UTC):
--   retention finds them through pg_inherits and relpartbound. usage_events_default takes an event whose day has no
--   partition yet (a late replay, clock skew); ensure_usage_partitions (supabase/schemas/19.ensure_usage_partitions.sql,
--   run by the queue's usage.partitions job and below) creates the days ahead and moves such rows out.
-- * The primary key is (id, started_at): a unique index must contain the partition key.
-- * Idempotency by (key_id, call_id) lives in usage_calls, a narrow unpartitioned table (call id, key, started_at):
--   settle_usage claims a call there (ON CONFLICT DO NOTHING) and inserts the usage row only for a claim it won, so a
--   replay is never charged twice whatever started_at it carries (the gateway's failure and success events of one
--   call carry different ones). Its unique (call_id text_pattern_ops, key_id) index is also the call id search, and
--   every look-up by (key, call id) reads started_at there and reaches one partition.
-- * The indexes are the lean set (20261205110000_usage_events_lean.sql) minus the call id index usage_calls replaces,
--   created on the parent so every partition has them.

-- The roll-up trigger's function takes usage_events[]: it follows the old table's row type, so it goes with it and
-- comes back (generated migration) typed by the new table.
drop trigger usage_events_roll_up_insert on public.usage_events;
drop trigger usage_events_roll_up_update on public.usage_events;
drop function public.roll_up_usage_delta(public.usage_events[], public.usage_events[]);

alter table public.usage_events rename to usage_events_unpartitioned;
alter table public.usage_events_unpartitioned drop constraint usage_events_pkey;
drop index public.usage_events_account_idx;
drop index public.usage_events_call_key;
drop index public.usage_events_failures_idx;
drop index public.usage_events_key_idx;
drop index public.usage_events_overrun_idx;
drop index public.usage_events_started_id_idx;
drop index public.usage_events_user_idx;
alter table public.usage_events_unpartitioned drop constraint usage_events_lease_id_fkey;
alter table public.usage_events_unpartitioned drop constraint usage_events_ledger_transaction_id_fkey;

-- The same columns in the same order (the roll-ups cast rows to usage_events), defaults, checks and identity.
create table public.usage_events (
  like public.usage_events_unpartitioned including defaults including constraints including identity
) partition by range (started_at);
alter table public.usage_events add constraint usage_events_pkey primary key (id, started_at);
alter table public.usage_events add constraint usage_events_lease_id_fkey
  foreign key (lease_id) references public.leases (id);
alter table public.usage_events add constraint usage_events_ledger_transaction_id_fkey
  foreign key (ledger_transaction_id) references public.ledger_transactions (id) deferrable initially deferred;
create index usage_events_account_idx on public.usage_events (account_id, started_at desc);
create index usage_events_failures_idx on public.usage_events (started_at desc) where status <> 'success';
create index usage_events_key_idx on public.usage_events (key_id, started_at desc);
create index usage_events_overrun_idx on public.usage_events (started_at desc) where overrun_micros > 0;
create index usage_events_started_id_idx on public.usage_events (started_at desc, id desc);
create index usage_events_user_idx on public.usage_events (user_id, started_at desc);
alter table public.usage_events enable row level security;

create table public.usage_events_default partition of public.usage_events default;
alter table public.usage_events_default enable row level security;

-- A partition for every UTC day that has rows (ensure_usage_partitions adds the days ahead once it exists).
do $$
declare
  v_day date;
begin
  for v_day in select distinct (started_at at time zone 'utc')::date from public.usage_events_unpartitioned order by 1 loop
    execute format('create table public.%I partition of public.usage_events for values from (%L) to (%L)',
                   'usage_events_p' || to_char(v_day, 'YYYYMMDD'),
                   (v_day::timestamp at time zone 'utc'), ((v_day + 1)::timestamp at time zone 'utc'));
    execute format('alter table public.%I enable row level security', 'usage_events_p' || to_char(v_day, 'YYYYMMDD'));
  end loop;
end;
$$;

insert into public.usage_events overriding system value select * from public.usage_events_unpartitioned;
select setval(pg_get_serial_sequence('public.usage_events', 'id'),
              greatest((select max(id) from public.usage_events_unpartitioned), 1),
              (select max(id) from public.usage_events_unpartitioned) is not null);

-- The (key, call id) → started_at record: settle_usage's idempotency key, the call id search, and how a look-up by
-- call reaches the one partition its row is in. BRIN on started_at: rows arrive in about started_at order, so
-- retention removes the claims of a dropped day through a tiny index.
create table public.usage_calls (
  call_id text not null,
  key_id uuid not null,
  started_at timestamptz not null
);
create unique index usage_calls_call_key on public.usage_calls (call_id text_pattern_ops, key_id);
create index usage_calls_started_brin on public.usage_calls using brin (started_at);
alter table public.usage_calls enable row level security;
insert into public.usage_calls (call_id, key_id, started_at)
select call_id, key_id, started_at from public.usage_events_unpartitioned;

drop table public.usage_events_unpartitioned;
-- The identity's sequence was made while the old one still had its name.
do $$
begin
  execute format('alter sequence %s rename to usage_events_id_seq', pg_get_serial_sequence('public.usage_events', 'id'));
end;
$$;
