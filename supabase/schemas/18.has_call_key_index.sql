-- Whether a partition of usage_events has its call key index (docs/adr/0032): a valid unique index on exactly
-- (call_key(call_id), key_id), with no predicate, whatever its name (another table may hold the usual one).
create or replace function public.has_call_key_index(p_partition oid) returns boolean
language sql stable
set search_path = public, pg_catalog
as $$
  select exists (
    select 1 from pg_index x
    where x.indrelid = p_partition and x.indisunique and x.indisvalid and x.indpred is null
      and x.indnkeyatts = 2 and x.indkey[0] = 0
      and x.indkey[1] = (select a.attnum from pg_attribute a where a.attrelid = p_partition and a.attname = 'key_id')
      and pg_get_expr(x.indexprs, x.indrelid) = 'call_key(call_id)')
$$;
