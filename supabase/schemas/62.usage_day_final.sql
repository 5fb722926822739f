-- Whether a UTC day's roll-ups (usage_rollups) are final: no detail of the day is here, and either the claims horizon
-- has passed its end (settle_usage records no call of it any more, and retention no longer keeps its sums) or
-- retention dropped it before a drop kept a day's sums. The settlement never rebuilds such a day (rollUpDay,
-- lib/settlement/run.ts), and whole_settled_days takes it as whole, whatever a retention run cut short left of the
-- roll-ups kept with each call.
create or replace function public.usage_day_final(p_day date) returns boolean
language sql
stable
set search_path = public
as $$
  select not exists (select 1 from usage_events e
                     where e.started_at >= p_day::timestamp at time zone 'utc'
                       and e.started_at < (p_day + 1)::timestamp at time zone 'utc')
     and (exists (select 1 from retention_actions a
                  where a.day = p_day and a.action = 'dropped'
                    and not coalesce((a.detail->>'sumsKept')::boolean, false))
          or coalesce((select h.kept_from from usage_claims_horizon h)
                      >= (p_day + 1)::timestamp at time zone 'utc', false))
$$;
