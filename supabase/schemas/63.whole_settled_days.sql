-- The settled UTC days from p_from to p_to whose usage_rollups still hold every call of the day: a day's settlement
-- rolls its detail up once (usage_rollups), and a call recorded after it (a late delivery, an upgrade) is in the
-- roll-ups every insert keeps, not in usage_rollups, until the day is rolled up again (docs/adr/0045). A read that
-- takes settled days from usage_rollups takes only these days there, and the others from their detail.
-- - For an account (p_account): its keys' calls (p_keys, or every key of the account when null), usage_rollups'
--   totals against those keys' usage_owner_days (calls and revenue).
-- - For the platform (p_account null): every call, usage_rollups' totals per billing status (from usage_rollup_days,
--   kept by its triggers) against usage_hourly's (an upgrade of a cut call to a success at the same charge moves a
--   call from 'estimated' to 'exact' only).
-- Two statements, one per case, each planned for its own filters (an account's reads its rows of usage_rollups by the
-- primary key, never the whole platform's day). A settled day whose roll-ups are final (usage_day_final: no call of it
-- can be recorded any more, and its detail left only once verified equal to its roll-ups) is whole, whatever a
-- retention run cut short left of the roll-ups kept with each call. A settled day with none of those roll-ups is
-- whole: it had no call, or retention trimmed them (past the hourly roll-ups' cutoff, which is never shorter than the
-- detail's: its detail is gone too), and usage_rollups is all that is left of it. Used by an account's daily spend and
-- the platform's usage by model (lib/billing/accounts.ts), an organization's spend by model (lib/orgs/overview.ts), the
-- analytics by user and by key (lib/analytics/usage.ts) and the search for settled days to roll up again
-- (lib/settlement/run.ts).
create or replace function public.whole_settled_days(p_from date, p_to date, p_account uuid, p_keys uuid[])
returns setof date
language plpgsql
stable
set search_path = public
as $$
begin
  if p_account is null then
    return query
      with settled as (
        select r.day, usage_day_final(r.day) as final
        from (select distinct r.day from settlement_runs r
              where r.status = 'completed' and r.day >= p_from and r.day <= p_to) r
      ),
      -- usage_rollups' platform totals, kept by its triggers (usage_rollup_days): a few rows a day.
      rolled as (
        select u.day, u.billing_status, sum(u.requests)::numeric as calls, sum(u.revenue_micros)::numeric as revenue
        from usage_rollup_days u
        where u.day in (select day from settled)
        group by u.day, u.billing_status
      ),
      kept as (
        select h.hour::date as day, h.billing_status, sum(h.calls)::numeric as calls,
               sum(h.revenue_micros)::numeric as revenue
        from usage_hourly h
        where h.hour >= p_from::timestamp and h.hour < (p_to + 1)::timestamp
          and h.hour::date in (select day from settled)
        group by h.hour::date, h.billing_status
      ),
      -- The (day, billing status) groups whose two sides differ.
      differ as (
        select coalesce(k.day, r.day) as day
        from kept k full join rolled r on r.day = k.day and r.billing_status = k.billing_status
        where (coalesce(k.calls, 0), coalesce(k.revenue, 0)) <> (coalesce(r.calls, 0), coalesce(r.revenue, 0))
      )
      select s.day from settled s
      where s.final or not exists (select 1 from kept k where k.day = s.day)
         or s.day not in (select d.day from differ d);
  else
    return query
      with settled as (
        select r.day, usage_day_final(r.day) as final
        from (select distinct r.day from settlement_runs r
              where r.status = 'completed' and r.day >= p_from and r.day <= p_to) r
      ),
      its_keys as (
        select unnest(coalesce(p_keys, array(select k.id from api_keys k where k.account_id = p_account))) as id
      ),
      rolled as (
        select u.day, sum(u.requests)::numeric as calls, sum(u.revenue_micros)::numeric as revenue
        from usage_rollups u
        where u.day in (select day from settled) and u.account_id = p_account
          and u.key_id in (select id from its_keys)
        group by u.day
      ),
      kept as (
        select o.day, sum(o.calls)::numeric as calls, sum(o.revenue_micros)::numeric as revenue
        from usage_owner_days o
        where o.owner_kind = 'key' and o.owner_id in (select id from its_keys)
          and o.day in (select day from settled)
        group by o.day
      )
      select s.day from settled s
      left join rolled r on r.day = s.day
      left join kept k on k.day = s.day
      where s.final or k.day is null or (coalesce(r.calls, 0) = k.calls and coalesce(r.revenue, 0) = k.revenue);
  end if;
end;
$$;
