-- The partitions of usage_events as the catalog states them (pg_inherits, relpartbound): each one's name, whether it
-- is the default partition, and its range on started_at, [from_at, to_at) (null for the default or an unbounded
-- side). Retention finds the partitions only here, never by their names. Empty while usage_events is not partitioned.
create or replace function public.usage_partitions()
returns table (partition regclass, name text, is_default boolean, from_at timestamptz, to_at timestamptz,
               bytes bigint, estimated_rows bigint)
language sql
stable
set search_path = public, pg_catalog
as $$
  select c.oid::regclass, c.relname::text, b.expr = 'DEFAULT',
         case when m[1] is not null then m[1]::timestamptz end,
         case when m[2] is not null then m[2]::timestamptz end,
         pg_total_relation_size(c.oid), greatest(c.reltuples, 0)::bigint
  from pg_inherits i
  join pg_class c on c.oid = i.inhrelid
  cross join lateral (select pg_get_expr(c.relpartbound, c.oid) as expr) b
  left join lateral (select regexp_match(b.expr, '^FOR VALUES FROM \(''([^'']*)''\) TO \(''([^'']*)''\)$') as m) r
    on true
  where i.inhparent = 'public.usage_events'::regclass
  order by 4 nulls first, 2;
$$;
