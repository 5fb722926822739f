-- Makes a partition's call key index (docs/adr/0032), unique on (call_key(call_id), key_id): named
-- <partition>_call_key_idx, or by PostgreSQL when another relation holds that name (a partition detached and renamed
-- keeps its index's name). Raises unique_violation when the partition's rows repeat a call.
create or replace function public.make_call_key_index(p_partition text) returns void
language plpgsql
set search_path = public
as $$
begin
  execute format('create unique index %I on public.%I (call_key(call_id), key_id)', p_partition || '_call_key_idx',
                 p_partition);
exception when duplicate_table then
  execute format('create unique index on public.%I (call_key(call_id), key_id)', p_partition);
end;
$$;
