-- docs/adr/0034, after the functions: the call key index of each empty partition (the days made ahead, the default
-- when empty) is made again on (call_key(call_id)) alone. A partition holding rows (today's, the default with late
-- calls) keeps the one it has, on (call_key(call_id), key_id): has_call_key_index takes either, and rebuilding it
-- would hold its writes. Each in this migration's transaction: no moment without an arbiter.
do $$
declare
  v_part record;
  v_rows boolean;
  v_old text;
begin
  for v_part in select p.partition, p.name from public.usage_partitions() p loop
    execute format('select exists (select 1 from public.%I)', v_part.name) into v_rows;
    continue when v_rows;
    for v_old in
      select quote_ident(c.relname) from pg_index x join pg_class c on c.oid = x.indexrelid
      where x.indrelid = v_part.partition and x.indisunique and x.indnkeyatts = 2
        and pg_get_expr(x.indexprs, x.indrelid) = 'call_key(call_id)'
    loop
      execute 'drop index public.' || v_old;
    end loop;
    if not public.has_call_key_index(v_part.partition) then
      perform public.make_call_key_index(v_part.name);
    end if;
  end loop;
end;
$$;
