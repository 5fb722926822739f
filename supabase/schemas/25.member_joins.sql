-- A member's cap windows start from what they were already charged in the organization this UTC day and month
-- (ADR 0016): removing a member deletes their row, so without this a member removed and invited back the same day
-- would start their caps again at zero. Counted from their calls' usage rows on the organization's account (in the
-- window the call started in); a call still in flight at the removal is counted when it settles. Trigger on
-- organization_members inserts.
create or replace function public.member_joins() returns trigger
language plpgsql as $$
declare
  v_now timestamptz := tollgate_now();
begin
  new.budget_day := budget_window(v_now, 'day');
  new.budget_month := budget_window(v_now, 'month');
  select coalesce(sum(u.revenue_micros) filter (where budget_window(u.started_at, 'day') = new.budget_day), 0),
         coalesce(sum(u.revenue_micros), 0)
  into new.day_used_micros, new.month_used_micros
  from usage_events u join accounts a on a.id = u.account_id
  where a.organization_id = new.organization_id and u.user_id = new.user_id
    and u.started_at >= new.budget_month::timestamp at time zone 'utc'
    and u.started_at < (new.budget_month + interval '1 month')::timestamp at time zone 'utc';
  return new;
end;
$$;
