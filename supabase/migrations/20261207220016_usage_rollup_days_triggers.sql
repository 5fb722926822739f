-- usage_rollup_days follows every statement that inserts, deletes or updates usage_rollups, or empties it
-- (supabase/schemas/60.roll_up_rollup_days.sql); then it is filled from the roll-ups already written. Making the
-- triggers locks usage_rollups against writes until this migration commits, so no roll-up is counted twice or missed.
create trigger usage_rollups_days_insert after insert on public.usage_rollups
  referencing new table as new_rows for each statement execute function public.roll_up_rollup_days();
create trigger usage_rollups_days_update after update on public.usage_rollups
  referencing old table as old_rows new table as new_rows for each statement execute function public.roll_up_rollup_days();
create trigger usage_rollups_days_delete after delete on public.usage_rollups
  referencing old table as old_rows for each statement execute function public.roll_up_rollup_days();
create trigger usage_rollups_days_truncate after truncate on public.usage_rollups
  for each statement execute function public.roll_up_rollup_days();

insert into public.usage_rollup_days (day, model_group, billing_status, requests, tokens_in, tokens_out, cost_micros,
                                      revenue_micros)
select day, model_group, billing_status, sum(requests), sum(tokens_in), sum(tokens_out), sum(cost_micros),
       sum(revenue_micros)
from public.usage_rollups
group by day, model_group, billing_status;
