-- Makes sure usage_events has its daily partition (usage_events_pYYYYMMDD, [D 00:00 UTC, D+1 00:00 UTC)) for every
-- UTC day from p_from to p_to, and for the first 31 days the events in usage_events_default belong to (a late replay,
-- clock skew), whose rows move into their new partition. Idempotent, and safe under concurrency: callers take turns on a
-- transaction-scoped advisory lock, and a day's partition is built beside the table and attached (SHARE UPDATE
-- EXCLUSIVE on usage_events: settlement's inserts and every read go on), with usage_events_default locked against
-- new rows (not reads) until the caller commits, so none arrives there between a day's move and its attach. Moved rows leave a partition and enter one without passing through
-- usage_events, so the roll-ups (its statement triggers) are unchanged. Run by the queue's usage.partitions job on
-- every drain tick (lib/usage/partitions.ts) and by the migration; it waits at most 5 s for a lock (lock_timeout, for
-- the rest of the caller's transaction). No foreign key leads out of usage_events, so attaching locks neither leases nor
-- ledger_transactions. Returns the partitions created and the rows moved.
-- A new partition's columns are usage_events' in the order that packs a row without alignment padding (docs/adr/0029):
-- 8-byte columns first, then 16-byte uuids, 4-, 2- and 1-byte ones, then the variable-length ones, each group in
-- usage_events' order, with usage_events' NOT NULLs, defaults and checks (which attaching requires). Rows routed
-- through usage_events are mapped to it by column name; a settled call's row takes about 16 bytes less than in
-- usage_events' order. Each partition has a unique index of its own on (call_key(call_id), key_id), which the parent
-- cannot have (its unique indexes must contain started_at): a call's key in its day (docs/adr/0032).
create or replace function public.ensure_usage_partitions(p_from date, p_to date)
returns table (partitions_created integer, rows_moved bigint)
language plpgsql
set search_path = public
as $$
declare
  v_day date;
  v_name text;
  v_created integer := 0;
  v_moved bigint := 0;
  v_count bigint;
  v_columns text;
  v_names text;
begin
  if p_from is null or p_to is null or p_to < p_from or p_to - p_from > 366 then
    raise exception 'ensure_usage_partitions: a range of at most 366 days, from before to' using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('tollgate.usage_events.partitions', 0));
  -- Attaching waits for the reads of usage_events_default in flight, and every read arriving after it would queue
  -- behind it: past a few seconds the job gives up and its retry (or the next tick) tries again, days ahead of need.
  perform set_config('lock_timeout', '5s', true);
  -- usage_events_default is locked against writes while its rows are read and moved (reads go on).
  lock table usage_events_default in share row exclusive mode;
  -- At most 31 days of usage_events_default per run (it holds the default partition locked to its commit); the next
  -- tick takes the rest. settle_usage records no event before the claims horizon nor more than a day ahead, so
  -- such days are few.
  for v_day in
    select d::date from generate_series(p_from, p_to, interval '1 day') d
    union
    (select distinct (started_at at time zone 'utc')::date from usage_events_default order by 1 limit 31)
    order by 1
  loop
    v_name := 'usage_events_p' || to_char(v_day, 'YYYYMMDD');
    continue when to_regclass(format('public.%I', v_name)) is not null;
    if v_columns is null then
      select string_agg(format('%I %s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                               case when a.attcollation <> t.typcollation
                                    then format(' collate %s', a.attcollation::regcollation) else '' end,
                               case when a.attnotnull then ' not null' else '' end,
                               coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')),
                        ', ' order by case when t.typlen = -1 or t.typlen = -2 then 5
                                           when t.typalign = 'd' then 0 when t.typlen = 16 then 1
                                           when t.typalign = 'i' then 2 when t.typalign = 's' then 3 else 4 end,
                                      a.attnum),
             string_agg(format('%I', a.attname), ', ' order by a.attnum)
        into v_columns, v_names
        from pg_attribute a
        join pg_type t on t.oid = a.atttypid
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum and a.attgenerated = ''
       where a.attrelid = 'public.usage_events'::regclass and a.attnum > 0 and not a.attisdropped;
      select v_columns || coalesce(string_agg(format(', constraint %I %s', c.conname, pg_get_constraintdef(c.oid)),
                                              '' order by c.conname), '')
        into v_columns
        from pg_constraint c
       where c.conrelid = 'public.usage_events'::regclass and c.contype = 'c';
    end if;
    execute format('create table public.%I (%s)', v_name, v_columns);
    execute format('alter table public.%I enable row level security', v_name);
    -- A call's idempotency key in its day (docs/adr/0032): settle_usage's ON CONFLICT arbiter for UUIDv7 calls, which
    -- always land in the partition of the day their id names; made before the moved rows arrive, so they meet it.
    perform make_call_key_index(v_name);
    execute format(
      'with moved as (delete from public.usage_events_default where started_at >= %L and started_at < %L returning *)
       insert into public.%I (%s) select %s from moved',
      v_day::timestamp at time zone 'utc', (v_day + 1)::timestamp at time zone 'utc', v_name, v_names, v_names);
    get diagnostics v_count = row_count;
    v_moved := v_moved + v_count;
    execute format('alter table public.usage_events attach partition public.%I for values from (%L) to (%L)',
                   v_name, v_day::timestamp at time zone 'utc', (v_day + 1)::timestamp at time zone 'utc');
    v_created := v_created + 1;
  end loop;
  -- A partition made another way (by hand, restored from a backup) that may take a row claim (the default partition,
  -- a day from usage_claims_horizon.rows_from) is given its call key index too: judged by the index itself (unique,
  -- valid, on (call_key(call_id), key_id), whatever its name), not by a name another table may hold. One whose rows
  -- repeat a call cannot have it: it is left as it is, with a warning, and the days to come are still made.
  for v_name in
    select p.name from usage_partitions() p
    where (p.is_default or p.to_at is null or p.to_at > (select rows_from from usage_claims_horizon))
      and not has_call_key_index(p.partition)
  loop
    begin
      perform make_call_key_index(v_name);
    exception when unique_violation then
      raise warning 'ensure_usage_partitions: % repeats a call; no call key index made for it', v_name;
    end;
  end loop;
  -- A partition with a NOT NULL usage_events no longer has (one detached before a count allowed null, docs/adr/0033,
  -- and attached back; one restored from a backup) would refuse every batch with a call of its day: it is given the
  -- parent's. A catalog change, only where one differs (the partitions from pg_inherits: no bounds or sizes needed).
  for v_name, v_names in
    select c.relname, string_agg(format('alter column %I drop not null', a.attname), ', ' order by a.attnum)
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_attribute a on a.attrelid = i.inhrelid and a.attnum > 0 and not a.attisdropped and a.attnotnull
    join pg_attribute u on u.attrelid = i.inhparent and u.attname = a.attname and not u.attisdropped and not u.attnotnull
    where i.inhparent = 'public.usage_events'::regclass
    group by c.relname
  loop
    execute format('alter table public.%I %s', v_name, v_names);
  end loop;
  return query select v_created, v_moved;
end;
$$;
