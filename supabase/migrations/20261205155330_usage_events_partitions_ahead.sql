-- After usage_events became partitioned (20261205155300) and its functions followed (20261205155322): the roll-up
-- triggers come back on the partitioned table (statement triggers with transition tables see the rows of every
-- partition), and the daily partitions from yesterday to a week ahead exist before any event needs them. From here
-- the queue's usage.partitions job keeps them ahead (lib/usage/partitions.ts).
create trigger usage_events_roll_up_insert after insert on public.usage_events
  referencing new table as new_rows for each statement execute function public.roll_up_usage();
create trigger usage_events_roll_up_update after update on public.usage_events
  referencing old table as old_rows new table as new_rows for each statement execute function public.roll_up_usage();

select public.ensure_usage_partitions((public.tollgate_now() at time zone 'utc')::date - 1,
                                      (public.tollgate_now() at time zone 'utc')::date + 7);
