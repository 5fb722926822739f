-- A member's cap windows start from what the member already counts against them in the organization this UTC day and
-- month (ADR 0016): removing a member deletes their row, so without this a member removed and invited back the same
-- day would start their caps again at zero. The windows count, as a member's counters always do (clause 26), the
-- charges of their calls on the organization's account in the window (by when the call started) plus their live
-- reservations made in it (member_reserved): when such a call settles,
-- settlement moves the counter by its charge less its reservation, so the reservation must already be in it. A member
-- invited by an admin whom the owner capped starts within that admin's caps (an admin cannot give a newcomer more room
-- than their own: lib/orgs/members.ts holds cap changes to the same rule). Trigger on organization_members inserts.
create or replace function public.member_joins() returns trigger
language plpgsql as $$
declare
  v_now timestamptz := tollgate_now();
  v_inviter record;
begin
  select m.daily_cap_micros, m.monthly_cap_micros into v_inviter
  from organization_members m
  where m.organization_id = new.organization_id and m.user_id = new.invited_by and m.role = 'admin';
  if found then
    new.daily_cap_micros := least(new.daily_cap_micros, v_inviter.daily_cap_micros);
    new.monthly_cap_micros := least(new.monthly_cap_micros, v_inviter.monthly_cap_micros);
  end if;
  new.budget_day := budget_window(v_now, 'day');
  new.budget_month := budget_window(v_now, 'month');
  select coalesce(sum(u.revenue_micros) filter (where budget_window(u.started_at, 'day') = new.budget_day), 0)
           + r.day_reserved,
         coalesce(sum(u.revenue_micros), 0) + r.month_reserved
  into new.day_used_micros, new.month_used_micros
  from accounts a cross join member_reserved(a.id, new.user_id, v_now) r
  -- The member's calls on the account are those of their keys in it (a key's user and account never change: docs/adr/0037),
  -- each key's read through usage_events_key_idx.
  left join usage_events u on u.key_id = any(array(select k.id from api_keys k
                                                   where k.account_id = a.id and k.user_id = new.user_id))
    and u.started_at >= new.budget_month::timestamp at time zone 'utc'
  where a.organization_id = new.organization_id
  group by r.day_reserved, r.month_reserved;
  new.day_used_micros := coalesce(new.day_used_micros, 0);  -- no account yet: nothing counted
  new.month_used_micros := coalesce(new.month_used_micros, 0);
  return new;
end;
$$;
