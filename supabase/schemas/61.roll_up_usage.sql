-- The statement triggers that keep usage_hourly and the per-day owner roll-ups (usage_owner_days and
-- usage_owner_activity) equal to the sums of usage_events (one upsert each per statement, in the statement's
-- transaction): an insert adds its rows; an update (an outcome upgraded by upgrade_usage) takes the old rows out and
-- adds the new ones.
create or replace function public.roll_up_usage() returns trigger
language plpgsql
set search_path = public
as $$
declare
  v_added usage_events[];
  v_removed usage_events[] := '{}';
begin
  v_added := array(select row(n.*)::usage_events from new_rows n);
  if tg_op <> 'INSERT' then
    v_removed := array(select row(o.*)::usage_events from old_rows o);
  end if;
  perform roll_up_usage_delta(v_added, v_removed);
  perform roll_up_owner_days(v_added, v_removed);
  return null;
end;
$$;
