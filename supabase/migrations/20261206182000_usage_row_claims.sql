-- docs/adr/0032: a UUIDv7 call is claimed by its usage row, in the partition of the UTC day its id names, whose own
-- unique index (call_key(call_id), key_id) is settle_usage's ON CONFLICT arbiter; no claim is written to usage_calls.
--
-- From when: usage_claims_horizon.rows_from. A call whose id names a moment before it keeps the claims path (its claim in
-- usage_calls), so every report of a call takes one path, and the partitions of earlier days, whose calls were all
-- claimed in usage_calls, need no new index: none is built on a partition that holds rows (an index build would hold
-- writes to it for its length). A database with no usage yet takes the new path at once; one with usage, from the next
-- UTC day, whose partition (made ahead, empty) gets its index here.
alter table public.usage_claims_horizon add column rows_from timestamptz not null default '-infinity';
update public.usage_claims_horizon
   set rows_from = case when exists (select from public.usage_events)
                        then (date_trunc('day', now() at time zone 'utc') + interval '1 day') at time zone 'utc'
                        else '-infinity' end;

-- The UTC days whose usage detail retention is dropping or has dropped (a row claim leaves with its partition):
-- settle_usage records no UUIDv7 call of such a day (a replay of one is counted as expired, never charged a second time).
-- close_usage_days adds a partition's days just before retention drops it; the drop's own transaction marks them
-- dropped; a day closed and not dropped (refused, or a run cut off) is opened again.
create table public.usage_closed_days (
  day date primary key,
  dropped boolean not null default false,
  closed_at timestamptz not null default now()
);
alter table public.usage_closed_days enable row level security;

-- The call key index on every partition that may take a row claim: the default partition and those of days from
-- rows_from (ensure_usage_partitions makes it with each new one from the next migration on).
do $$
declare
  v_name text;
  v_from timestamptz := (select rows_from from public.usage_claims_horizon);
begin
  perform pg_advisory_xact_lock(hashtextextended('tollgate.usage_events.partitions', 0));
  for v_name in
    select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    cross join lateral (select pg_get_expr(c.relpartbound, c.oid) as expr) b
    left join lateral (select regexp_match(b.expr, ' TO \(''([^'']*)''\)$') as m) r on true
    where i.inhparent = 'public.usage_events'::regclass
      and (b.expr = 'DEFAULT' or r.m is null or r.m[1]::timestamptz > v_from)
    order by 1
  loop
    execute format('create unique index if not exists %I on public.%I (public.call_key(call_id), key_id)',
                   v_name || '_call_key_idx', v_name);
  end loop;
end;
$$;
