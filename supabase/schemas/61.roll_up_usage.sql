-- The statement triggers that keep usage_hourly equal to the sums of usage_events (one upsert per statement, in the
-- statement's transaction): an insert adds its rows; an update (an outcome upgraded by upgrade_usage) takes the old
-- rows out and adds the new ones.
create or replace function public.roll_up_usage() returns trigger
language plpgsql
set search_path = public
as $$
begin
  if tg_op = 'INSERT' then
    perform roll_up_usage_delta(array(select row(n.*)::usage_events from new_rows n), '{}'::usage_events[]);
  else
    perform roll_up_usage_delta(array(select row(n.*)::usage_events from new_rows n),
                                array(select row(o.*)::usage_events from old_rows o));
  end if;
  return null;
end;
$$;
