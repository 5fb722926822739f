-- Since 20261206152956 ensure_usage_partitions makes a new daily partition with its columns in the packed order
-- (docs/adr/0029). The partitions made before it, ahead of need and still empty, are made again the packed way, so
-- the days to come pack their rows from the first; a partition that has rows keeps its order until retention drops it.
-- usage_events is locked for the few milliseconds this takes (dropping a partition locks its parent anyway), so no
-- row can reach a partition between the check that it is empty and its drop.
do $$
declare
  v_name text;
  v_rows boolean;
begin
  perform pg_advisory_xact_lock(hashtextextended('tollgate.usage_events.partitions', 0));
  lock table public.usage_events in access exclusive mode;
  for v_name in
    select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'public.usage_events'::regclass and c.relname ~ '^usage_events_p[0-9]{8}$'
    order by 1
  loop
    execute format('select exists (select from public.%I)', v_name) into v_rows;
    if not v_rows then
      execute format('drop table public.%I', v_name);
    end if;
  end loop;
end;
$$;

select public.ensure_usage_partitions((public.tollgate_now() at time zone 'utc')::date - 1,
                                      (public.tollgate_now() at time zone 'utc')::date + 7);
