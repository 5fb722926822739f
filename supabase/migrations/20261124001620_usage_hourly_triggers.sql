-- usage_hourly follows every statement that inserts or updates usage events (supabase/schemas/61.roll_up_usage.sql).
create trigger usage_events_roll_up_insert after insert on public.usage_events
  referencing new table as new_rows for each statement execute function public.roll_up_usage();
create trigger usage_events_roll_up_update after update on public.usage_events
  referencing old table as old_rows new table as new_rows for each statement execute function public.roll_up_usage();
