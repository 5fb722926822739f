-- The furthest the claims horizon may go (retention, docs/adr/0022): the start of the UTC day of the oldest moment
-- whose calls may still be recorded — the oldest daily partition still here (a refused, unsettled day), a late call
-- waiting in usage_events_default, an open hold (the event that closes it must not be expired, else its money is held
-- for ever). Null when there is none. Reads the catalog, the default partition and the open holds: retention calls it
-- through advance_usage_claims_horizon_every, at most once per its interval.
create or replace function public.usage_claims_horizon_bound()
returns timestamptz
language sql
stable
set search_path = public
as $$
  select ((least(
    (select min(p.from_at) from usage_partitions() p where not p.is_default and p.from_at > '2000-01-01'),
    (select min(d.started_at) from usage_events_default d),
    (select min(h.created_at) from holds h where h.status = 'open')
  ) at time zone 'utc')::date)::timestamp at time zone 'utc';
$$;
